-- Server code, when it opens a Stripe Checkout session for some charges:
-- the pending payment for their sum. The charges stay unpaid but point at
-- it (payment_id), and private.checkout_charges records them, so that
-- settling the session pays exactly those. The payment takes its id from
-- the caller (p_payment_id), so the session can name it in its metadata
-- before it exists; a charge another pending checkout holds is refused.
create or replace function public.create_stripe_checkout_payment(
    p_coach_id uuid,
    p_client_id uuid,
    p_participant_ids uuid[],
    p_checkout_session_id text,
    p_payment_id uuid default null
)
returns public.payments
language plpgsql
security invoker
set search_path = pg_catalog, pg_temp
as $$
declare
    v_amount bigint;
    v_payment public.payments;
begin
    if coalesce(pg_catalog.btrim(p_checkout_session_id), '') = '' then
        raise exception using
            errcode = 'CB002', message = 'p_checkout_session_id is required', hint = 'invalid_argument';
    end if;
    perform from public.coaches as c where c.id = p_coach_id;
    if not found then
        raise exception using errcode = 'CB001', message = 'coach not found', hint = 'not_found';
    end if;
    v_amount := private.lock_payable_charges(p_coach_id, p_client_id, p_participant_ids);

    perform from public.lesson_participants as p
    where p.id = any(p_participant_ids) and p.coach_id = p_coach_id and p.payment_id is not null;
    if found then
        raise exception using
            errcode = 'CB007',
            message = 'a charge is already in another pending checkout',
            hint = 'charge_not_payable';
    end if;

    insert into public.payments (
        id, coach_id, client_id, amount_cents, currency, method, status, stripe_checkout_session_id
    )
    select
        coalesce(p_payment_id, pg_catalog.gen_random_uuid()), p_coach_id, p_client_id, v_amount,
        c.currency, 'stripe', 'pending', p_checkout_session_id
    from public.coaches as c
    where c.id = p_coach_id
    returning * into v_payment;

    update public.lesson_participants as p set payment_id = v_payment.id
    where p.id = any(p_participant_ids) and p.coach_id = p_coach_id;

    insert into private.checkout_charges (payment_id, participant_id)
    select v_payment.id, c.participant_id
    from pg_catalog.unnest(p_participant_ids) as c (participant_id);

    return v_payment;
end;
$$;

comment on function public.create_stripe_checkout_payment(uuid, uuid, uuid[], text, uuid) is
'Server code: the pending payment of a Stripe Checkout session, under the id it names.';

-- Safe to run only as server code: it trusts the ids it is given (they come
-- from a verified Stripe event or from the checkout code), so EXECUTE is
-- for service_role alone. SECURITY INVOKER: service_role's own privileges.
revoke all on function public.create_stripe_checkout_payment(uuid, uuid, uuid[], text, uuid)
from public, anon, authenticated, service_role;
grant execute on function public.create_stripe_checkout_payment(uuid, uuid, uuid[], text, uuid)
to service_role;
