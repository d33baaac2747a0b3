-- RPC functions for single lessons. Each runs as the caller (SECURITY
-- INVOKER, so row level security applies), checks every id it is given,
-- and either does all of its work or raises and leaves nothing behind.

-- One lesson and one participant (charge) per client. End time and price
-- default from the lesson type; the overlap rule is the exclusion
-- constraint (23P01), capacity is the constraint trigger.
create function public.create_lesson_with_participants(
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
set search_path = ''
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
    if p_start_time is null or v_end_time is null or v_end_time <= p_start_time then
        raise exception using
            errcode = 'CB002',
            message = 'a lesson needs a start time and an end time after it (or a lesson type)',
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
create function public.update_lesson(
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
set search_path = ''
as $$
declare
    v_coach_id uuid := private.require_coach_id();
    v_lesson public.lessons := private.lock_scheduled_lesson(v_coach_id, p_lesson_id);
    v_start timestamptz := coalesce(p_start_time, v_lesson.start_time);
    v_end timestamptz := coalesce(p_end_time, v_start + (v_lesson.end_time - v_lesson.start_time));
    v_type public.lesson_types;
begin
    if v_end <= v_start then
        raise exception using
            errcode = 'CB002', message = 'the end time must be after the start time', hint = 'invalid_argument';
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

-- Cancels a scheduled lesson: unpaid charges are waived, paid ones stay
-- paid (a refund is a separate, deliberate act).
create function public.cancel_lesson(p_lesson_id uuid, p_reason text default null)
returns public.lessons
language plpgsql
security invoker
set search_path = ''
as $$
declare
    v_coach_id uuid := private.require_coach_id();
    v_lesson public.lessons := private.lock_scheduled_lesson(v_coach_id, p_lesson_id);
begin
    update public.lesson_participants as p set payment_status = 'waived'
    where p.lesson_id = v_lesson.id and p.coach_id = v_coach_id and p.payment_status = 'unpaid';

    update public.lessons as l set
        status = 'cancelled',
        cancelled_at = pg_catalog.now(),
        cancellation_reason = p_reason
    where l.id = v_lesson.id and l.coach_id = v_coach_id
    returning * into v_lesson;
    return v_lesson;
end;
$$;

-- Marks a scheduled lesson completed and records who attended: every
-- participant attended except the clients listed as absent, each of whom
-- must be a participant (CB001).
create function public.complete_lesson(p_lesson_id uuid, p_absent_client_ids uuid[] default '{}')
returns public.lessons
language plpgsql
security invoker
set search_path = ''
as $$
declare
    v_coach_id uuid := private.require_coach_id();
    v_lesson public.lessons := private.lock_scheduled_lesson(v_coach_id, p_lesson_id);
    v_absent uuid[] := coalesce(p_absent_client_ids, '{}');
begin
    if pg_catalog.cardinality(v_absent) > 0 then
        perform private.require_id_list(v_absent, 'p_absent_client_ids');
        if (
            select pg_catalog.count(*) from public.lesson_participants as p
            where p.lesson_id = v_lesson.id and p.coach_id = v_coach_id
                and p.client_id = any(v_absent)
        ) <> pg_catalog.cardinality(v_absent) then
            raise exception using
                errcode = 'CB001',
                message = 'an absent client is not a participant of this lesson',
                hint = 'not_found';
        end if;
    end if;

    update public.lesson_participants as p set attended = not (p.client_id = any(v_absent))
    where p.lesson_id = v_lesson.id and p.coach_id = v_coach_id;

    update public.lessons as l set status = 'completed'
    where l.id = v_lesson.id and l.coach_id = v_coach_id
    returning * into v_lesson;
    return v_lesson;
end;
$$;

-- Callable by signed-in coaches (and by server code acting with a user's
-- claims); never by anon. Each function refuses a caller without auth.uid().
revoke execute on function
public.create_lesson_with_participants(
    uuid[], timestamptz, timestamptz, uuid, text, text, text, integer
),
public.update_lesson(uuid, timestamptz, timestamptz, text, text, text, uuid[]),
public.cancel_lesson(uuid, text),
public.complete_lesson(uuid, uuid[])
from public, anon;

grant execute on function
public.create_lesson_with_participants(
    uuid[], timestamptz, timestamptz, uuid, text, text, text, integer
),
public.update_lesson(uuid, timestamptz, timestamptz, text, text, text, uuid[]),
public.cancel_lesson(uuid, text),
public.complete_lesson(uuid, uuid[])
to authenticated, service_role;
