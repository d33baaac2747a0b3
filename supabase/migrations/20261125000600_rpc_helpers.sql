-- Checks shared by the RPC functions. All SECURITY INVOKER: they run with
-- the caller's privileges and row level security, and add explicit
-- coach_id filters on top (defence in depth, and the same CB001 answer for
-- "does not exist" and "belongs to another coach").

-- The signed-in coach, or CB012.
create function private.require_coach_id()
returns uuid
language plpgsql
stable
set search_path = ''
as $$
declare
    v_coach_id uuid := auth.uid();
begin
    if v_coach_id is null then
        raise exception using
            errcode = 'CB012',
            message = 'this function needs a signed-in coach',
            hint = 'not_authenticated';
    end if;
    return v_coach_id;
end;
$$;

-- A non-empty list of distinct, non-null ids. `p_duplicate_code` tells a
-- client listed twice (CB005) from a charge listed twice (CB002).
create function private.require_id_list(
    p_ids uuid[], p_what text, p_duplicate_code text default 'CB002'
)
returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
    if p_ids is null or pg_catalog.cardinality(p_ids) = 0
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

-- Every client of the list is one of the coach's, or CB001.
create function private.require_own_clients(p_coach_id uuid, p_client_ids uuid[])
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
    perform private.require_id_list(p_client_ids, 'p_client_ids', 'CB005');
    if (
        select pg_catalog.count(*) from public.clients as c
        where c.id = any(p_client_ids) and c.coach_id = p_coach_id
    ) <> pg_catalog.cardinality(p_client_ids) then
        raise exception using
            errcode = 'CB001',
            message = 'a client of the list was not found',
            hint = 'not_found';
    end if;
end;
$$;

-- The coach's active lesson type (CB001, CB003); null for a null id.
create function private.require_active_lesson_type(p_coach_id uuid, p_lesson_type_id uuid)
returns public.lesson_types
language plpgsql
stable
set search_path = ''
as $$
declare
    v_type public.lesson_types;
begin
    if p_lesson_type_id is null then
        return null;
    end if;
    select * into v_type
    from public.lesson_types as lt
    where lt.id = p_lesson_type_id and lt.coach_id = p_coach_id;
    if not found then
        raise exception using
            errcode = 'CB001', message = 'lesson type not found', hint = 'not_found';
    end if;
    if not v_type.is_active then
        raise exception using
            errcode = 'CB003',
            message = pg_catalog.format('lesson type "%s" is not active', v_type.name),
            hint = 'lesson_type_inactive';
    end if;
    return v_type;
end;
$$;

-- Early, friendly capacity check; the constraint trigger is what guarantees it.
create function private.require_capacity(p_type public.lesson_types, p_participants integer)
returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
    if p_type.max_participants is not null and p_participants > p_type.max_participants then
        raise exception using
            errcode = 'CB004',
            message = pg_catalog.format(
                'this lesson takes at most %s participants, %s given',
                p_type.max_participants, p_participants
            ),
            hint = 'capacity_exceeded';
    end if;
end;
$$;

-- The coach's lesson, locked for the rest of the transaction, and still
-- scheduled (CB001, CB008).
create function private.lock_scheduled_lesson(p_coach_id uuid, p_lesson_id uuid)
returns public.lessons
language plpgsql
set search_path = ''
as $$
declare
    v_lesson public.lessons;
begin
    select * into v_lesson
    from public.lessons as l
    where l.id = p_lesson_id and l.coach_id = p_coach_id
    for update;
    if not found then
        raise exception using errcode = 'CB001', message = 'lesson not found', hint = 'not_found';
    end if;
    if v_lesson.status <> 'scheduled' then
        raise exception using
            errcode = 'CB008',
            message = pg_catalog.format('the lesson is %s and can not change', v_lesson.status),
            hint = 'lesson_not_editable';
    end if;
    return v_lesson;
end;
$$;

-- Locks the given charges and returns their total, after checking that
-- each is the coach's (CB001), the client's (CB007), not paid (CB006) and
-- unpaid under the billing rule (CB007). Locking first (in id order, so two
-- payers never deadlock) and reading after means a concurrent payment of
-- the same charge is seen, and refused, once it commits.
create function private.lock_payable_charges(
    p_coach_id uuid, p_client_id uuid, p_participant_ids uuid[]
)
returns bigint
language plpgsql
set search_path = ''
as $$
declare
    v_found integer;
    v_other_client integer;
    v_paid integer;
    v_not_payable integer;
    v_total bigint;
begin
    perform private.require_id_list(p_participant_ids, 'p_participant_ids');
    perform from public.clients as c where c.id = p_client_id and c.coach_id = p_coach_id;
    if not found then
        raise exception using errcode = 'CB001', message = 'client not found', hint = 'not_found';
    end if;

    perform from public.lesson_participants as p
    where p.id = any(p_participant_ids) and p.coach_id = p_coach_id
    order by p.id
    for update;

    select
        pg_catalog.count(*),
        pg_catalog.count(*) filter (where p.client_id <> p_client_id),
        pg_catalog.count(*) filter (where p.payment_status = 'paid'),
        pg_catalog.count(*) filter (
            where p.payment_status <> 'unpaid' or not private.is_billable(l.status, l.end_time)
        ),
        coalesce(pg_catalog.sum(p.price_cents), 0)
    into v_found, v_other_client, v_paid, v_not_payable, v_total
    from public.lesson_participants as p
    inner join public.lessons as l on l.id = p.lesson_id and l.coach_id = p.coach_id
    where p.id = any(p_participant_ids) and p.coach_id = p_coach_id;

    if v_found <> pg_catalog.cardinality(p_participant_ids) then
        raise exception using errcode = 'CB001', message = 'a charge was not found', hint = 'not_found';
    end if;
    if v_other_client > 0 then
        raise exception using
            errcode = 'CB007',
            message = 'a charge belongs to another client',
            hint = 'charge_not_payable';
    end if;
    if v_paid > 0 then
        raise exception using errcode = 'CB006', message = 'a charge is already paid', hint = 'already_paid';
    end if;
    if v_not_payable > 0 then
        raise exception using
            errcode = 'CB007',
            message = 'a charge is waived, refunded, cancelled or not yet due',
            hint = 'charge_not_payable';
    end if;
    if v_total <= 0 then
        raise exception using
            errcode = 'CB002', message = 'these charges add up to nothing to pay', hint = 'invalid_argument';
    end if;
    return v_total;
end;
$$;

revoke execute on function
private.require_coach_id(),
private.require_id_list(uuid[], text, text),
private.require_own_clients(uuid, uuid[]),
private.require_active_lesson_type(uuid, uuid),
private.require_capacity(public.lesson_types, integer),
private.lock_scheduled_lesson(uuid, uuid),
private.lock_payable_charges(uuid, uuid, uuid[])
from public, anon;

grant execute on function
private.require_coach_id(),
private.require_id_list(uuid[], text, text),
private.require_own_clients(uuid, uuid[]),
private.require_active_lesson_type(uuid, uuid),
private.require_capacity(public.lesson_types, integer),
private.lock_scheduled_lesson(uuid, uuid),
private.lock_payable_charges(uuid, uuid, uuid[])
to authenticated, service_role;
