-- Stripe's webhooks and the checkout they settle.
--
-- Every delivered event is stored first (record_stripe_event) and then
-- processed in one transaction of its own by exactly one of the functions
-- below. Each of them locks the payment row first and marks the event
-- processed in the same transaction, so concurrent deliveries of one event
-- take turns and the later ones change nothing; a crash rolls the whole
-- processing back and leaves the event unprocessed, for the next delivery.
-- All of them trust their arguments (they come from a signed event): only
-- server code may call them (EXECUTE for service_role alone).

-- Which connected account sent the event (Stripe Connect), and what its
-- processing did: settled, failed, refunded, ignored, unmatched,
-- payment_mismatch or account_mismatch.
alter table public.stripe_events
add column account_id text,
add column outcome text;

alter table public.stripe_events
add constraint stripe_events_outcome_length check (char_length(outcome) <= 64);

-- Partial refunds: the payment stays succeeded and records how much went
-- back (Stripe's cumulative amount_refunded); a full refund turns it
-- refunded.
alter table public.payments
add column refunded_cents bigint not null default 0;

alter table public.payments
add constraint payments_refunded_not_negative check (refunded_cents >= 0) not valid;

alter table public.payments
validate constraint payments_refunded_not_negative;

-- The pending payment of a checkout now takes its id from the caller
-- (p_payment_id), so the Checkout Session can name it in its metadata before
-- the payment exists, and refuses a charge that another pending checkout
-- already holds.
drop function public.create_stripe_checkout_payment(uuid, uuid, uuid[], text);

create function public.create_stripe_checkout_payment(
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
'Server code only: the pending Stripe payment for these unpaid charges of the client.';

-- Stores a delivered event once (insert or ignore on its id) and says
-- whether it was already processed. The payload comes as the JSON text of
-- the event, the same through PostgREST and a direct connection.
create function public.record_stripe_event(
    p_event_id text,
    p_type text,
    p_account_id text default null,
    p_payload text default '{}'
)
returns boolean
language plpgsql
security invoker
set search_path = pg_catalog, pg_temp
as $$
declare
    v_processed boolean;
begin
    if coalesce(pg_catalog.btrim(p_event_id), '') = '' or coalesce(pg_catalog.btrim(p_type), '') = '' then
        raise exception using
            errcode = 'CB002', message = 'p_event_id and p_type are required', hint = 'invalid_argument';
    end if;
    insert into public.stripe_events (id, type, account_id, payload)
    values (p_event_id, p_type, p_account_id, coalesce(p_payload, '{}')::jsonb)
    on conflict (id) do nothing;
    select e.processed_at is not null into v_processed
    from public.stripe_events as e
    where e.id = p_event_id;
    return v_processed;
end;
$$;

-- Marks an event processed with what came of it (settled, ignored,
-- unmatched, mismatch…); the first outcome recorded stays.
create function public.finish_stripe_event(p_event_id text, p_outcome text)
returns boolean
language plpgsql
security invoker
set search_path = pg_catalog, pg_temp
as $$
begin
    update public.stripe_events as e set
        processed_at = coalesce(e.processed_at, pg_catalog.now()),
        outcome = coalesce(e.outcome, p_outcome)
    where e.id = p_event_id and (e.processed_at is null or e.outcome is null);
    return found;
end;
$$;

-- On checkout.session.async_payment_failed and checkout.session.expired: a
-- pending payment fails and its unpaid charges leave it, payable again.
-- Order never moves a payment backwards: a succeeded, refunded or failed
-- payment stays as it is.
create function public.fail_stripe_checkout(p_event_id text, p_checkout_session_id text)
returns public.payments
language plpgsql
security invoker
set search_path = pg_catalog, pg_temp
as $$
declare
    v_payment public.payments;
    v_processed boolean;
begin
    select * into v_payment from public.payments as pay
    where pay.stripe_checkout_session_id = p_checkout_session_id
    for update;
    if not found then
        raise exception using errcode = 'CB001', message = 'checkout payment not found', hint = 'not_found';
    end if;

    select e.processed_at is not null into v_processed
    from public.stripe_events as e
    where e.id = p_event_id
    for update;
    if coalesce(v_processed, false) then
        return v_payment;
    end if;

    if v_payment.status = 'pending' then
        update public.lesson_participants as p set payment_id = null
        where p.payment_id = v_payment.id and p.coach_id = v_payment.coach_id
            and p.payment_status = 'unpaid';
        update public.payments as pay set status = 'failed'
        where pay.id = v_payment.id
        returning * into v_payment;
    end if;

    update public.stripe_events as e set
        processed_at = pg_catalog.now(),
        outcome = case when v_payment.status = 'failed' then 'failed' else 'ignored' end
    where e.id = p_event_id;
    return v_payment;
end;
$$;

-- On charge.refunded: Stripe's amount_refunded is cumulative, so the
-- largest one seen is the truth whatever the order of delivery. A refund of
-- the whole amount turns the payment refunded and its paid charges refunded
-- (no longer owed: the balance does not grow back); a partial one keeps it
-- succeeded and records refunded_cents.
create function public.refund_stripe_payment(
    p_event_id text,
    p_payment_intent_id text,
    p_amount_refunded bigint
)
returns public.payments
language plpgsql
security invoker
set search_path = pg_catalog, pg_temp
as $$
declare
    v_payment public.payments;
    v_processed boolean;
    v_refunded bigint;
begin
    if p_amount_refunded is null or p_amount_refunded < 0 then
        raise exception using
            errcode = 'CB002', message = 'p_amount_refunded must be at least 0', hint = 'invalid_argument';
    end if;
    select * into v_payment from public.payments as pay
    where pay.stripe_payment_intent_id = p_payment_intent_id
    for update;
    if not found then
        raise exception using errcode = 'CB001', message = 'payment not found', hint = 'not_found';
    end if;

    select e.processed_at is not null into v_processed
    from public.stripe_events as e
    where e.id = p_event_id
    for update;
    if coalesce(v_processed, false) then
        return v_payment;
    end if;

    if v_payment.status in ('succeeded', 'refunded') then
        v_refunded := least(
            greatest(v_payment.refunded_cents, p_amount_refunded), v_payment.amount_cents
        );
        if v_refunded >= v_payment.amount_cents then
            update public.lesson_participants as p set payment_status = 'refunded'
            where p.payment_id = v_payment.id and p.coach_id = v_payment.coach_id
                and p.payment_status = 'paid';
        end if;
        update public.payments as pay set
            refunded_cents = v_refunded,
            status = case when v_refunded >= v_payment.amount_cents then 'refunded' else pay.status end
        where pay.id = v_payment.id
        returning * into v_payment;
    end if;

    update public.stripe_events as e set
        processed_at = pg_catalog.now(),
        outcome = case when v_payment.refunded_cents > 0 then 'refunded' else 'ignored' end
    where e.id = p_event_id;
    return v_payment;
end;
$$;

-- Safe to call only from server code: each trusts the ids it is given.
revoke execute on function
public.create_stripe_checkout_payment(uuid, uuid, uuid[], text, uuid),
public.record_stripe_event(text, text, text, text),
public.finish_stripe_event(text, text),
public.fail_stripe_checkout(text, text),
public.refund_stripe_payment(text, text, bigint)
from public, anon, authenticated;

grant execute on function
public.create_stripe_checkout_payment(uuid, uuid, uuid[], text, uuid),
public.record_stripe_event(text, text, text, text),
public.finish_stripe_event(text, text),
public.fail_stripe_checkout(text, text),
public.refund_stripe_payment(text, text, bigint)
to service_role;
