-- Locks the given charges and returns their total, after checking that
-- each is the coach's (CB001), the client's (CB007), not paid (CB006) and
-- unpaid under the billing rule (CB007). Locking first (in id order, so two
-- payers never deadlock) and reading after means a concurrent payment of
-- the same charge is seen, and refused, once it commits.
create or replace function private.lock_payable_charges(
    p_coach_id uuid, p_client_id uuid, p_participant_ids uuid[]
)
returns bigint
language plpgsql
set search_path = pg_catalog, pg_temp
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

comment on function private.lock_payable_charges(uuid, uuid, uuid[]) is
'Locks a client''s payable charges in id order and returns their total.';

revoke all on function private.lock_payable_charges(uuid, uuid, uuid[])
from public, anon, authenticated, service_role;
grant execute on function private.lock_payable_charges(uuid, uuid, uuid[])
to authenticated, service_role;
