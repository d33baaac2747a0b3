-- Input hygiene: time zones that follow daylight
-- saving, id lists that are plain lists, finite times, bounded text.

-- A time zone is valid when PostgreSQL lists it in pg_timezone_names: an
-- IANA name of its time zone database ('Europe/Paris', 'UTC'). POSIX specs
-- ('UTC-3', 'EST5', 'ABC-3'), which PostgreSQL also accepts in AT TIME ZONE
-- but which are fixed offsets that ignore daylight saving, are refused.
-- pg_timezone_names is a view over a directory scan (about 600 names, some
-- 10 ms): fine for the rare writes that check a time zone (a coach's
-- profile, a new series); the default 'UTC' is answered without the scan.
-- Used by check constraints, so it must not fail: it only compares names.
-- The constraints that use it are not re-validated: a row stored with a
-- POSIX zone before this migration fails its check at its next write.
create or replace function private.is_time_zone(p_name text)
returns boolean
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select p_name is not null and (
        p_name = 'UTC'
        or exists (select from pg_catalog.pg_timezone_names as z where z.name = p_name)
    )
$$;

-- A non-empty, one-dimensional list starting at index 1, of distinct,
-- non-null ids. `p_duplicate_code` tells a client listed twice (CB005) from
-- a charge listed twice (CB002). The functions read p_client_ids[1] for a
-- one-client lesson: '[2:2]={…}' or a 2-D array would give null there.
create or replace function private.require_id_list(
    p_ids uuid[], p_what text, p_duplicate_code text default 'CB002'
)
returns void
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
    if p_ids is null or pg_catalog.cardinality(p_ids) = 0
        or pg_catalog.array_ndims(p_ids) <> 1 or pg_catalog.array_lower(p_ids, 1) <> 1
        or pg_catalog.array_position(p_ids, null) is not null then
        raise exception using
            errcode = 'CB002',
            message = pg_catalog.format('%s must be a non-empty list of ids', p_what),
            hint = 'invalid_argument';
    end if;
    if (select pg_catalog.count(distinct i) from pg_catalog.unnest(p_ids) as i)
        <> pg_catalog.cardinality(p_ids) then
        raise exception using
            errcode = p_duplicate_code,
            message = pg_catalog.format('%s lists the same id twice', p_what),
            hint = case when p_duplicate_code = 'CB005' then 'duplicate_participant'
                else 'invalid_argument' end;
    end if;
end;
$$;

-- Finite times: an endless lesson would block the whole calendar (exclusion
-- constraint) and its charge would never be billable.
alter table public.lessons add constraint lessons_times_finite
check (isfinite(start_time) and isfinite(end_time)) not valid;
alter table public.recurring_lessons add constraint recurring_lessons_first_start_finite
check (isfinite(first_start_time)) not valid;

-- Bounded text: every change is copied (old and new) into the append-only
-- audit_log, so unbounded text would let a coach exhaust the storage.
-- Names 200 characters, e-mail 320, phone 50, location 500, a reason or a
-- payment note 1000, notes and descriptions 10000, Stripe ids 255.
alter table public.coaches
add constraint coaches_full_name_length check (char_length(full_name) <= 200) not valid,
add constraint coaches_business_name_length
check (char_length(business_name) <= 200) not valid,
add constraint coaches_email_length check (char_length(email) <= 320) not valid,
add constraint coaches_stripe_account_id_length
check (char_length(stripe_account_id) <= 255) not valid;

alter table public.clients
add constraint clients_first_name_length check (char_length(first_name) <= 200) not valid,
add constraint clients_last_name_length check (char_length(last_name) <= 200) not valid,
add constraint clients_email_length check (char_length(email) <= 320) not valid,
add constraint clients_phone_length check (char_length(phone) <= 50) not valid,
add constraint clients_notes_length check (char_length(notes) <= 10000) not valid;

alter table public.lesson_types
add constraint lesson_types_name_length check (char_length(name) <= 200) not valid,
add constraint lesson_types_description_length
check (char_length(description) <= 10000) not valid;

alter table public.recurring_lessons
add constraint recurring_lessons_title_length check (char_length(title) <= 200) not valid;

alter table public.lessons
add constraint lessons_title_length check (char_length(title) <= 200) not valid,
add constraint lessons_location_length check (char_length(location) <= 500) not valid,
add constraint lessons_notes_length check (char_length(notes) <= 10000) not valid,
add constraint lessons_cancellation_reason_length
check (char_length(cancellation_reason) <= 1000) not valid;

alter table public.payments
add constraint payments_note_length check (char_length(note) <= 1000) not valid,
add constraint payments_stripe_checkout_session_id_length
check (char_length(stripe_checkout_session_id) <= 255) not valid,
add constraint payments_stripe_payment_intent_id_length
check (char_length(stripe_payment_intent_id) <= 255) not valid;

-- The RPC functions refuse infinite times with CB002 before the constraints do.
-- (create_lesson_with_participants, update_lesson, create_recurring_lessons).
create or replace function public.create_lesson_with_participants(
    p_client_ids uuid[],
    p_start_time timestamptz,
    p_end_time timestamptz default null,
    p_lesson_type_id uuid default null,
    p_title text default null,
    p_location text default null,
    p_notes text default null,
    p_price_cents integer default null
)
returns public.lessons
language plpgsql
security invoker
set search_path = pg_catalog, pg_temp
as $$
declare
    v_coach_id uuid := private.require_coach_id();
    v_type public.lesson_types;
    v_end_time timestamptz;
    v_price bigint;
    v_lesson public.lessons;
begin
    perform private.require_own_clients(v_coach_id, p_client_ids);
    v_type := private.require_active_lesson_type(v_coach_id, p_lesson_type_id);
    perform private.require_capacity(v_type, pg_catalog.cardinality(p_client_ids));

    v_end_time := coalesce(
        p_end_time, p_start_time + pg_catalog.make_interval(mins => v_type.duration_minutes)
    );
    if p_start_time is null or v_end_time is null or v_end_time <= p_start_time
        or not pg_catalog.isfinite(p_start_time) or not pg_catalog.isfinite(v_end_time) then
        raise exception using
            errcode = 'CB002',
            message = 'a lesson needs a finite start time and an end time after it (or a lesson type)',
            hint = 'invalid_argument';
    end if;
    v_price := coalesce(p_price_cents, v_type.price_cents, 0);
    if v_price < 0 then
        raise exception using
            errcode = 'CB002', message = 'p_price_cents can not be negative', hint = 'invalid_argument';
    end if;

    insert into public.lessons (
        coach_id, client_id, lesson_type_id, title, start_time, end_time, location, notes, price_cents
    )
    values (
        v_coach_id,
        case when pg_catalog.cardinality(p_client_ids) = 1 then p_client_ids[1] end,
        p_lesson_type_id,
        coalesce(p_title, v_type.name),
        p_start_time,
        v_end_time,
        p_location,
        p_notes,
        v_price
    )
    returning * into v_lesson;

    insert into public.lesson_participants (lesson_id, client_id, coach_id, price_cents)
    select v_lesson.id, c.client_id, v_coach_id, v_price
    from pg_catalog.unnest(p_client_ids) as c (client_id);

    return v_lesson;
end;
$$;

-- Changes a scheduled lesson. A null parameter leaves its field as it is;
-- a new start without a new end keeps the lesson's duration. A client list
-- replaces the participants: new clients get a charge at the lesson's
-- price, removed ones lose theirs, unless it is paid (CB009).
create or replace function public.update_lesson(
    p_lesson_id uuid,
    p_start_time timestamptz default null,
    p_end_time timestamptz default null,
    p_title text default null,
    p_location text default null,
    p_notes text default null,
    p_client_ids uuid[] default null
)
returns public.lessons
language plpgsql
security invoker
set search_path = pg_catalog, pg_temp
as $$
declare
    v_coach_id uuid := private.require_coach_id();
    v_lesson public.lessons := private.lock_scheduled_lesson(v_coach_id, p_lesson_id);
    v_start timestamptz := coalesce(p_start_time, v_lesson.start_time);
    v_end timestamptz := coalesce(p_end_time, v_start + (v_lesson.end_time - v_lesson.start_time));
    v_type public.lesson_types;
begin
    if v_end <= v_start or not pg_catalog.isfinite(v_start) or not pg_catalog.isfinite(v_end) then
        raise exception using
            errcode = 'CB002',
            message = 'the times must be finite and the end after the start',
            hint = 'invalid_argument';
    end if;

    if p_client_ids is not null then
        perform private.require_own_clients(v_coach_id, p_client_ids);
        select * into v_type from public.lesson_types as lt
        where lt.id = v_lesson.lesson_type_id and lt.coach_id = v_coach_id;
        perform private.require_capacity(v_type, pg_catalog.cardinality(p_client_ids));
        if exists (
            select from public.lesson_participants as p
            where p.lesson_id = v_lesson.id and p.coach_id = v_coach_id
                and p.client_id <> all(p_client_ids) and p.payment_status = 'paid'
        ) then
            raise exception using
                errcode = 'CB009',
                message = 'a participant who has paid can not be removed from the lesson',
                hint = 'paid_participant_removal';
        end if;

        delete from public.lesson_participants as p
        where p.lesson_id = v_lesson.id and p.coach_id = v_coach_id
            and p.client_id <> all(p_client_ids);

        insert into public.lesson_participants (lesson_id, client_id, coach_id, price_cents)
        select v_lesson.id, c.client_id, v_coach_id, v_lesson.price_cents
        from pg_catalog.unnest(p_client_ids) as c (client_id)
        where not exists (
            select from public.lesson_participants as p
            where p.lesson_id = v_lesson.id and p.client_id = c.client_id
        );
    end if;

    update public.lessons as l set
        start_time = v_start,
        end_time = v_end,
        title = coalesce(p_title, l.title),
        location = coalesce(p_location, l.location),
        notes = coalesce(p_notes, l.notes),
        client_id = case
            when p_client_ids is null then l.client_id
            when pg_catalog.cardinality(p_client_ids) = 1 then p_client_ids[1]
        end
    where l.id = v_lesson.id and l.coach_id = v_coach_id
    returning * into v_lesson;

    return v_lesson;
end;
$$;

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

    if p_first_start_time is null or not pg_catalog.isfinite(p_first_start_time)
        or p_duration_minutes is null
        or p_duration_minutes not between 1 and 1440 then
        raise exception using
            errcode = 'CB002',
            message = 'a series needs a finite first start time and a duration of 1 to 1440 minutes',
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
    if v_price < 0 then
        raise exception using
            errcode = 'CB002', message = 'p_price_cents can not be negative', hint = 'invalid_argument';
    end if;

    -- The occurrences: local wall-clock time stepped by whole weeks. One
    -- more than allowed is generated so that a too-long series is detected.
    v_step := case when p_frequency = 'weekly' then interval '7 days' else interval '14 days' end;
    v_local_start := p_first_start_time at time zone v_timezone;
    select pg_catalog.array_agg((v_local_start + n * v_step) at time zone v_timezone order by n)
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
