-- Server code, on Stripe's checkout.session.completed: settles the pending
-- payment of that session. Idempotent per event (stripe_events) and per
-- session (a succeeded payment is returned as it is). The charges recorded
-- at checkout creation (private.checkout_charges) that still point at it and
-- are still unpaid become paid, in id order, as long as their running total
-- fits in the amount paid (their prices can not change while they point at
-- the checkout, so normally all of them); money for charges settled some
-- other way meanwhile (paid in cash, waived) becomes credit_cents, which
-- therefore is never negative. Any other charge pointing at the checkout
-- stays unpaid and leaves it.
create or replace function public.settle_stripe_checkout(
    p_event_id text,
    p_checkout_session_id text,
    p_payment_intent_id text,
    p_amount_cents bigint
)
returns public.payments
language plpgsql
security invoker
set search_path = pg_catalog, pg_temp
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

    perform from public.lesson_participants as p
    where p.payment_id = v_payment.id and p.coach_id = v_payment.coach_id
    order by p.id
    for update;

    with candidates as (
        select
            p.id,
            pg_catalog.sum(p.price_cents) over (order by p.id) as running_total
        from public.lesson_participants as p
        inner join private.checkout_charges as cc
            on cc.payment_id = v_payment.id and cc.participant_id = p.id
        where p.payment_id = v_payment.id and p.client_id = v_payment.client_id
            and p.coach_id = v_payment.coach_id and p.payment_status = 'unpaid'
    ),

    settled as (
        update public.lesson_participants as p set payment_status = 'paid', paid_at = pg_catalog.now()
        from candidates as c
        where p.id = c.id and c.running_total <= v_payment.amount_cents
        returning p.price_cents
    )

    select coalesce(pg_catalog.sum(settled.price_cents), 0) into v_settled from settled;

    update public.lesson_participants as p set payment_id = null
    where p.payment_id = v_payment.id and p.coach_id = v_payment.coach_id
        and p.payment_status = 'unpaid';

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

comment on function public.settle_stripe_checkout(text, text, text, bigint) is
'Server code: settles the pending payment of a completed Stripe Checkout session, once.';

revoke all on function public.settle_stripe_checkout(text, text, text, bigint)
from public, anon, authenticated, service_role;
grant execute on function public.settle_stripe_checkout(text, text, text, bigint)
to service_role;
