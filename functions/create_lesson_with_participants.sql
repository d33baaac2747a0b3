-- A lesson with its participants, or nothing: the lesson type (optional)
-- must be the coach's and active, every client the coach's, the group
-- within the type's capacity (CB004) and the slot free (23P01, naming the
-- lesson that holds it). Each
-- participant owes the lesson's price. A start or an end (given, or the
-- start plus the type's duration) outside 1900-01-01 to 2200-01-01 UTC,
-- 'infinity' included, is refused with CB002 naming it, before the
-- constraints would.
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

    perform private.require_user_time(p_start_time, 'p_start_time');
    v_end_time := coalesce(
        p_end_time, p_start_time + pg_catalog.make_interval(mins => v_type.duration_minutes)
    );
    if v_end_time is null or v_end_time <= p_start_time then
        raise exception using
            errcode = 'CB002',
            message = 'a lesson needs an end time after its start (or a lesson type)',
            column = 'p_end_time',
            hint = 'invalid_argument';
    end if;
    perform private.require_user_time(v_end_time, 'p_end_time');
    v_price := coalesce(p_price_cents, v_type.price_cents, 0);
    if v_price not between 0 and private.max_price_cents() then
        raise exception using
            errcode = 'CB002',
            message = pg_catalog.format('p_price_cents must be 0 to %s', private.max_price_cents()),
            hint = 'invalid_argument';
    end if;

    begin
        insert into public.lessons (
            coach_id, client_id, lesson_type_id, title, start_time, end_time, location, notes,
            price_cents
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
    exception
        when exclusion_violation then
            perform private.raise_lesson_overlap(v_coach_id, p_start_time, v_end_time, null);
    end;

    insert into public.lesson_participants (lesson_id, client_id, coach_id, price_cents)
    select v_lesson.id, c.client_id, v_coach_id, v_price
    from pg_catalog.unnest(p_client_ids) as c (client_id);

    return v_lesson;
end;
$$;

comment on function public.create_lesson_with_participants(
    uuid[], timestamptz, timestamptz, uuid, text, text, text, integer
) is
'Creates a lesson with its participants and their charges, all or nothing.';

revoke all on function public.create_lesson_with_participants(
    uuid[], timestamptz, timestamptz, uuid, text, text, text, integer
)
from public, anon, authenticated, service_role;
grant execute on function public.create_lesson_with_participants(
    uuid[], timestamptz, timestamptz, uuid, text, text, text, integer
)
to authenticated, service_role;
