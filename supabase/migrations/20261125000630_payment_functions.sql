-- RPC functions for payments. The amount is always computed by the
-- database from the charges, never taken from the caller.

-- A coach records money received (cash, card, transfer…): one succeeded
-- payment for the sum of the given charges, which become paid. Every
-- charge must be the client's and unpaid (see private.lock_payable_charges).
create function public.record_payment(
    p_client_id uuid,
    p_participant_ids uuid[],
    p_method text,
    p_note text default null
)
returns public.payments
language plpgsql
security invoker
set search_path = ''
as $$
declare
    v_coach_id uuid := private.require_coach_id();
    v_amount bigint;
    v_payment public.payments;
begin
    if p_method is null
        or not p_method = any(pg_catalog.enum_range(null::public.payment_method)::text[]) then
        raise exception using
            errcode = 'CB002',
            message = pg_catalog.format('unknown payment method "%s"', p_method),
            hint = 'invalid_argument';
    end if;
    v_amount := private.lock_payable_charges(v_coach_id, p_client_id, p_participant_ids);

    insert into public.payments (
        coach_id, client_id, amount_cents, currency, method, status, note, paid_at
    )
    select
        v_coach_id, p_client_id, v_amount, c.currency, p_method::public.payment_method,
        'succeeded', p_note, pg_catalog.now()
    from public.coaches as c
    where c.id = v_coach_id
    returning * into v_payment;

    update public.lesson_participants as p set
        payment_status = 'paid', payment_id = v_payment.id, paid_at = v_payment.paid_at
    where p.id = any(p_participant_ids) and p.coach_id = v_coach_id;

    return v_payment;
end;
$$;

-- Server code, when it opens a Stripe Checkout session for some charges:
-- the pending payment for their sum. The charges stay unpaid but point at
-- it (payment_id), so that settling the session knows what it pays.
create function public.create_stripe_checkout_payment(
    p_coach_id uuid,
    p_client_id uuid,
    p_participant_ids uuid[],
    p_checkout_session_id text
)
returns public.payments
language plpgsql
security invoker
set search_path = ''
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

    insert into public.payments (
        coach_id, client_id, amount_cents, currency, method, status, stripe_checkout_session_id
    )
    select p_coach_id, p_client_id, v_amount, c.currency, 'stripe', 'pending', p_checkout_session_id
    from public.coaches as c
    where c.id = p_coach_id
    returning * into v_payment;

    update public.lesson_participants as p set payment_id = v_payment.id
    where p.id = any(p_participant_ids) and p.coach_id = p_coach_id;

    return v_payment;
end;
$$;

-- Server code, on Stripe's checkout.session.completed: settles the pending
-- payment of that session. Idempotent per event (stripe_events) and per
-- session (a succeeded payment is returned as it is). Charges still unpaid
-- and pointing at the payment become paid; money for charges settled some
-- other way meanwhile (paid in cash, waived) becomes credit_cents.
create function public.settle_stripe_checkout(
    p_event_id text,
    p_checkout_session_id text,
    p_payment_intent_id text,
    p_amount_cents bigint
)
returns public.payments
language plpgsql
security invoker
set search_path = ''
as $$
declare
    v_payment public.payments;
    v_settled bigint;
begin
    if coalesce(pg_catalog.btrim(p_event_id), '') = ''
        or coalesce(pg_catalog.btrim(p_checkout_session_id), '') = '' then
        raise exception using
            errcode = 'CB002',
            message = 'p_event_id and p_checkout_session_id are required',
            hint = 'invalid_argument';
    end if;

    select * into v_payment from public.payments as pay
    where pay.stripe_checkout_session_id = p_checkout_session_id
    for update;
    if not found then
        raise exception using errcode = 'CB001', message = 'checkout payment not found', hint = 'not_found';
    end if;

    insert into public.stripe_events (id, type) values (p_event_id, 'checkout.session.completed')
    on conflict (id) do nothing;
    perform from public.stripe_events as e
    where e.id = p_event_id and e.processed_at is not null;
    if found or v_payment.status = 'succeeded' then
        update public.stripe_events as e set processed_at = coalesce(e.processed_at, pg_catalog.now())
        where e.id = p_event_id;
        return v_payment;
    end if;

    if v_payment.status <> 'pending' then
        raise exception using
            errcode = 'CB013',
            message = pg_catalog.format('the checkout payment is %s, not pending', v_payment.status),
            hint = 'payment_not_pending';
    end if;
    if p_amount_cents is distinct from v_payment.amount_cents then
        raise exception using
            errcode = 'CB011',
            message = pg_catalog.format(
                'Stripe reports %s cents, the checkout asked for %s', p_amount_cents, v_payment.amount_cents
            ),
            hint = 'payment_mismatch';
    end if;

    with settled as (
        update public.lesson_participants as p set payment_status = 'paid', paid_at = pg_catalog.now()
        where p.payment_id = v_payment.id and p.client_id = v_payment.client_id
            and p.coach_id = v_payment.coach_id and p.payment_status = 'unpaid'
        returning p.price_cents
    )
    select coalesce(pg_catalog.sum(settled.price_cents), 0) into v_settled from settled;

    update public.payments as pay set
        status = 'succeeded',
        stripe_payment_intent_id = p_payment_intent_id,
        paid_at = pg_catalog.now(),
        credit_cents = v_payment.amount_cents - v_settled
    where pay.id = v_payment.id
    returning * into v_payment;

    update public.stripe_events as e set processed_at = pg_catalog.now() where e.id = p_event_id;
    return v_payment;
end;
$$;

revoke execute on function
public.record_payment(uuid, uuid[], text, text),
public.create_stripe_checkout_payment(uuid, uuid, uuid[], text),
public.settle_stripe_checkout(text, text, text, bigint)
from public, anon;

grant execute on function public.record_payment(uuid, uuid[], text, text)
to authenticated, service_role;

-- Stripe functions trust their p_coach_id: only server code may call them.
revoke execute on function
public.create_stripe_checkout_payment(uuid, uuid, uuid[], text),
public.settle_stripe_checkout(text, text, text, bigint)
from authenticated;
grant execute on function
public.create_stripe_checkout_payment(uuid, uuid, uuid[], text),
public.settle_stripe_checkout(text, text, text, bigint)
to service_role;
