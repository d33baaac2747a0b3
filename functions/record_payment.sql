-- A coach records money received (cash, card, transfer…): one succeeded
-- payment for the sum of the given charges, which become paid. Every
-- charge must be the client's and unpaid (see private.lock_payable_charges).
create or replace function public.record_payment(
    p_client_id uuid,
    p_participant_ids uuid[],
    p_method text,
    p_note text default null
)
returns public.payments
language plpgsql
security invoker
set search_path = pg_catalog, pg_temp
as $$
declare
    v_coach_id uuid := private.require_coach_id();
    v_payment_id uuid;
    v_payment public.payments;
begin
    if p_method is null
        or not p_method = any(pg_catalog.enum_range(null::public.payment_method)::text[]) then
        raise exception using
            errcode = 'CB002',
            message = pg_catalog.format('unknown payment method "%s"', p_method),
            hint = 'invalid_argument';
    end if;

    -- the request's trigger records the payment (its id made by the
    -- database) and marks the charges paid by it
    insert into private.payment_requests (client_id, participant_ids, method, note)
    values (p_client_id, p_participant_ids, p_method::public.payment_method, p_note);
    select p.payment_id into v_payment_id from public.lesson_participants as p
    where p.id = any(p_participant_ids) and p.coach_id = v_coach_id
    limit 1;

    select * into v_payment from public.payments as pay
    where pay.id = v_payment_id and pay.coach_id = v_coach_id;
    return v_payment;
end;
$$;

comment on function public.record_payment(uuid, uuid[], text, text) is
'Records money received for some of a client''s charges, which become paid.';

revoke all on function public.record_payment(uuid, uuid[], text, text)
from public, anon, authenticated, service_role;
grant execute on function public.record_payment(uuid, uuid[], text, text)
to authenticated, service_role;
