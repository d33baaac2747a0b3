-- A series and all of its lessons, or nothing. Each lesson keeps the local
-- wall-clock time of the first one in the series' time zone (default: the
-- coach's): the local start is stepped by whole weeks and converted back to
-- an instant per occurrence, so 17:00 stays 17:00 across daylight saving;
-- each lesson lasts p_duration_minutes of elapsed time. docs/rules.md
-- gives the calendar rules with examples.
-- One conflict fails the whole call with 23P01 naming the conflicting time.
-- Every time (the first start, p_until_date, the last lesson's end) lies
-- in 1900-01-01 to 2200-01-01 UTC, else CB002 naming it.
create or replace function public.create_recurring_lessons(
    p_client_ids uuid[],
    p_first_start_time timestamptz,
    p_duration_minutes integer,
    p_frequency text,
    p_until_date date default null,
    p_occurrences integer default null,
    p_lesson_type_id uuid default null,
    p_title text default null,
    p_location text default null,
    p_timezone text default null,
    p_price_cents integer default null
)
returns setof public.lessons
language plpgsql
security invoker
set search_path = pg_catalog, pg_temp
as $$
declare
    max_occurrences constant integer := 104;
    v_coach_id uuid := private.require_coach_id();
    v_type public.lesson_types;
    v_timezone text;
    v_step interval;
    v_local_start timestamp;
    v_starts timestamptz [];
    v_price bigint;
    v_series public.recurring_lessons;
    v_conflict timestamptz;
    v_detail text;
begin
    perform private.require_own_clients(v_coach_id, p_client_ids);
    v_type := private.require_active_lesson_type(v_coach_id, p_lesson_type_id);
    perform private.require_capacity(v_type, pg_catalog.cardinality(p_client_ids));

    perform private.require_user_time(p_first_start_time, 'p_first_start_time');
    if p_duration_minutes is null or p_duration_minutes not between 1 and 1440 then
        raise exception using
            errcode = 'CB002',
            message = 'p_duration_minutes must be 1 to 1440',
            column = 'p_duration_minutes',
            hint = 'invalid_argument';
    end if;
    if not private.user_time_range() @> (p_until_date::timestamp at time zone 'UTC') then
        raise exception using
            errcode = 'CB002',
            message = 'p_until_date must be a date from 1900-01-01 to 2199-12-31',
            column = 'p_until_date',
            hint = 'invalid_argument';
    end if;
    if p_frequency is null or p_frequency not in ('weekly', 'biweekly') then
        raise exception using
            errcode = 'CB002', message = 'p_frequency must be weekly or biweekly', hint = 'invalid_argument';
    end if;
    if p_until_date is null and p_occurrences is null or p_occurrences < 1 then
        raise exception using
            errcode = 'CB002',
            message = 'a series needs p_until_date or a positive p_occurrences',
            hint = 'invalid_argument';
    end if;
    if p_occurrences > max_occurrences then
        raise exception using
            errcode = 'CB010',
            message = pg_catalog.format('a series has at most %s lessons', max_occurrences),
            hint = 'too_many_occurrences';
    end if;

    v_timezone := coalesce(
        p_timezone, (select c.timezone from public.coaches as c where c.id = v_coach_id)
    );
    if not private.is_time_zone(v_timezone) then
        raise exception using
            errcode = 'CB002',
            message = pg_catalog.format('unknown time zone "%s"', v_timezone),
            hint = 'invalid_argument';
    end if;
    v_price := coalesce(p_price_cents, v_type.price_cents, 0);
    if v_price not between 0 and private.max_price_cents() then
        raise exception using
            errcode = 'CB002',
            message = pg_catalog.format('p_price_cents must be 0 to %s', private.max_price_cents()),
            hint = 'invalid_argument';
    end if;

    -- The occurrences, as RFC 5545 computes them: the first at exactly
    -- p_first_start_time; the others at its local wall-clock time stepped
    -- by whole weeks, each resolved by private.local_instant (a repeated
    -- time takes its first instant, a time in a gap moves forward by the
    -- gap); p_until_date is inclusive, a local date of the series' zone.
    -- One more than allowed is generated so that a too-long series is
    -- detected.
    v_step := case when p_frequency = 'weekly' then interval '7 days' else interval '14 days' end;
    v_local_start := p_first_start_time at time zone v_timezone;
    select pg_catalog.array_agg(
        case
            when n = 0 then p_first_start_time
            else private.local_instant(v_local_start + n * v_step, v_timezone)
        end
        order by n
    )
    into v_starts
    from pg_catalog.generate_series(0, max_occurrences) as n
    where (p_occurrences is null or n < p_occurrences)
        and (p_until_date is null or (v_local_start + n * v_step)::date <= p_until_date);

    if v_starts is null then
        raise exception using
            errcode = 'CB002',
            message = 'p_until_date is before the first lesson',
            hint = 'invalid_argument';
    end if;
    if pg_catalog.cardinality(v_starts) > max_occurrences then
        raise exception using
            errcode = 'CB010',
            message = pg_catalog.format('a series has at most %s lessons', max_occurrences),
            hint = 'too_many_occurrences';
    end if;
    -- The last lesson ends inside the range of times too.
    perform private.require_user_time(
        v_starts[pg_catalog.cardinality(v_starts)]
        + pg_catalog.make_interval(mins => p_duration_minutes),
        'the end of the series'' last lesson'
    );

    -- The first conflict, named in the coach's terms (local time).
    select s.start_time into v_conflict
    from pg_catalog.unnest(v_starts) as s (start_time)
    where exists (
        select from public.lessons as l
        where l.coach_id = v_coach_id and l.status <> 'cancelled'
            and pg_catalog.tstzrange(l.start_time, l.end_time) && pg_catalog.tstzrange(
                s.start_time, s.start_time + pg_catalog.make_interval(mins => p_duration_minutes)
            )
    )
    order by s.start_time
    limit 1;
    if v_conflict is not null then
        raise exception using
            errcode = '23P01',
            message = pg_catalog.format(
                'the lesson of %s %s overlaps another lesson',
                pg_catalog.to_char(v_conflict at time zone v_timezone, 'YYYY-MM-DD HH24:MI'),
                v_timezone
            ),
            constraint = 'lessons_no_overlap',
            hint = 'lesson_overlap';
    end if;

    insert into public.recurring_lessons (
        coach_id, lesson_type_id, title, frequency, first_start_time, duration_minutes,
        timezone, until_date, occurrences
    )
    values (
        v_coach_id, p_lesson_type_id, coalesce(p_title, v_type.name), p_frequency::public.lesson_frequency,
        p_first_start_time, p_duration_minutes, v_timezone, p_until_date,
        pg_catalog.cardinality(v_starts)
    )
    returning * into v_series;

    -- A lesson booked concurrently after the check above still fails the
    -- whole call through the exclusion constraint, with the same key.
    begin
        insert into public.lessons (
            coach_id, client_id, lesson_type_id, recurring_lesson_id, is_recurring, title,
            start_time, end_time, location, price_cents
        )
        select
            v_coach_id,
            case when pg_catalog.cardinality(p_client_ids) = 1 then p_client_ids[1] end,
            p_lesson_type_id, v_series.id, true, v_series.title,
            s.start_time, s.start_time + pg_catalog.make_interval(mins => p_duration_minutes),
            p_location, v_price
        from pg_catalog.unnest(v_starts) as s (start_time);
    exception
        when exclusion_violation then
            get stacked diagnostics v_detail = pg_exception_detail;
            raise exception using
                errcode = '23P01',
                message = 'a lesson of this series overlaps another lesson',
                detail = v_detail,
                constraint = 'lessons_no_overlap',
                hint = 'lesson_overlap';
    end;

    insert into public.lesson_participants (lesson_id, client_id, coach_id, price_cents)
    select l.id, c.client_id, v_coach_id, v_price
    from public.lessons as l
    cross join pg_catalog.unnest(p_client_ids) as c (client_id)
    where l.recurring_lesson_id = v_series.id and l.coach_id = v_coach_id;

    return query
    select * from public.lessons as l
    where l.recurring_lesson_id = v_series.id and l.coach_id = v_coach_id
    order by l.start_time;
end;
$$;

comment on function public.create_recurring_lessons(
    uuid[], timestamptz, integer, text, date, integer, uuid, text, text, text, integer
) is
'Creates a weekly or biweekly series and all of its lessons, all or nothing.';

revoke all on function public.create_recurring_lessons(
    uuid[], timestamptz, integer, text, date, integer, uuid, text, text, text, integer
)
from public, anon, authenticated, service_role;
grant execute on function public.create_recurring_lessons(
    uuid[], timestamptz, integer, text, date, integer, uuid, text, text, text, integer
)
to authenticated, service_role;
