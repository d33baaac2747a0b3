-- Payment columns are written by the payment and cancel functions only.
--
-- Until this migration `authenticated` could INSERT any column of
-- payments (forged Stripe ids squatting another coach's unique checkout or
-- payment intent, forged succeeded payments and credit) and UPDATE any column
-- of lesson_participants (mark a charge paid with any own payment, un-pay a
-- charge, change the price of a paid one, attach a charge to a pending
-- Stripe checkout). Now:
--   - coaches can not write payments at all (they still read them and edit
--     their note); record_payment creates a coach's payment through
--     private.payment_requests, whose trigger computes everything itself;
--   - coaches insert unpaid charges only (trigger guard_new_charge), and
--     update only `attended` and `price_cents` (and the price only while the charge
--     is unpaid and in no checkout, for everyone: trigger guard_charge_price);
--   - cancelling a lesson, however it is done, waives its unpaid charges
--     (trigger waive_charges_of_cancelled_lesson), so cancel_lesson and
--     cancel_recurring_lessons no longer write payment columns themselves;
--   - settle_stripe_checkout settles only the charges recorded when the
--     checkout was created (private.checkout_charges) whose total fits in
--     the amount paid, so its credit is never negative.

revoke insert on table public.payments from authenticated;

revoke update on table public.lesson_participants from authenticated;
grant update (price_cents, attended) on table public.lesson_participants to authenticated;

-- A new charge is unpaid and in no checkout, unless its writer may set the
-- payment columns anyway (service_role, the owner inside the payment
-- functions): the INSERT grant stays table-wide (PostgREST upserts name
-- every column), and this trigger refuses (42501) what the missing UPDATE
-- privilege on payment_status, payment_id and paid_at refuses on update.
create function private.guard_new_charge()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    if (new.payment_status <> 'unpaid' or new.payment_id is not null or new.paid_at is not null)
        and not (
            pg_catalog.has_column_privilege('public.lesson_participants', 'payment_status', 'UPDATE')
            and pg_catalog.has_column_privilege('public.lesson_participants', 'payment_id', 'UPDATE')
            and pg_catalog.has_column_privilege('public.lesson_participants', 'paid_at', 'UPDATE')
        ) then
        raise exception using
            errcode = '42501',
            message = 'a new charge is unpaid: payment_status, payment_id and paid_at are set by the payment functions',
            hint = 'payment_columns_protected';
    end if;
    return new;
end;
$$;

revoke execute on function private.guard_new_charge()
from public, anon, authenticated, service_role;

create trigger guard_new_charge before insert on public.lesson_participants
for each row execute function private.guard_new_charge();

-- A charge's price is what was paid, waived or asked at checkout: it changes
-- only while the charge is unpaid and not in a pending checkout (42501,
-- charge_locked).
create function private.guard_charge_price()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    if new.price_cents is distinct from old.price_cents
        and (old.payment_status <> 'unpaid' or old.payment_id is not null) then
        raise exception using
            errcode = '42501',
            message = 'the price of a charge that is paid, waived, refunded or in a checkout can not change',
            hint = 'charge_locked';
    end if;
    return new;
end;
$$;

revoke execute on function private.guard_charge_price()
from public, anon, authenticated, service_role;

create trigger guard_charge_price before update of price_cents on public.lesson_participants
for each row execute function private.guard_charge_price();

-- A cancelled lesson is never billable: its unpaid charges become waived,
-- however the lesson is cancelled (cancel_lesson, cancel_recurring_lessons,
-- a direct update); paid ones stay paid. SECURITY DEFINER because coaches
-- hold no UPDATE privilege on payment_status. Safe: a trigger function can
-- not be called directly and EXECUTE is revoked from every API role; it
-- touches only the charges of the lesson whose row fired it (same id and
-- coach_id, which RLS already let the caller update), and only from unpaid
-- to waived; fixed search path (pg_catalog, pg_temp), no unqualified type.
create function private.waive_charges_of_cancelled_lesson()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    update public.lesson_participants as p set payment_status = 'waived'::public.payment_status
    where p.lesson_id = new.id and p.coach_id = new.coach_id
        and p.payment_status = 'unpaid'::public.payment_status;
    return null;
end;
$$;

revoke execute on function private.waive_charges_of_cancelled_lesson()
from public, anon, authenticated, service_role;

create trigger waive_charges_of_cancelled_lesson after update of status on public.lessons
for each row
when (new.status = 'cancelled' and old.status is distinct from new.status)
execute function private.waive_charges_of_cancelled_lesson();

-- The write half of record_payment: a coach's payment request. The table
-- stays empty: its BEFORE INSERT trigger records the payment and returns
-- null, so the row itself is never stored. It lives in `private`, which
-- PostgREST does not expose, so only record_payment (or a direct connection
-- doing exactly what record_payment does) reaches it; it needs no row level
-- security because it never holds a row, and API roles may only insert.
create table private.payment_requests (
    payment_id uuid not null,
    client_id uuid not null,
    participant_ids uuid[] not null,
    method public.payment_method not null,
    note text
);

revoke all on table private.payment_requests from public, anon, authenticated, service_role;
grant insert on table private.payment_requests to authenticated, service_role;

-- Records a requested payment. SECURITY DEFINER because coaches hold no
-- INSERT privilege on payments and no UPDATE privilege on the payment
-- columns of lesson_participants. Safe:
--   - a trigger function can not be called directly, and EXECUTE is revoked
--     from every API role;
--   - every column of the request is untrusted input: the coach is
--     auth.uid() (CB012 without one), never a column; the client and every
--     charge are checked against that coach by private.lock_payable_charges
--     (explicit coach_id filters, since the owner bypasses RLS): the
--     client's (CB001, CB007), unpaid and billable (CB006, CB007), locked in
--     id order;
--   - the amount is the sum of those charges, computed here; the status is
--     succeeded, the currency the coach's, no Stripe id and no credit: the
--     caller chooses only the method, the note and the new payment's id (a
--     taken id fails with 23505);
--   - fixed search path (pg_catalog, pg_temp) and schema-qualified types, so
--     no object of the caller (a pg_temp type) is ever resolved.
create function private.record_requested_payment()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_coach_id pg_catalog.uuid := private.require_coach_id();
    v_amount pg_catalog.int8;
    v_paid_at pg_catalog.timestamptz := pg_catalog.now();
begin
    v_amount := private.lock_payable_charges(v_coach_id, new.client_id, new.participant_ids);

    insert into public.payments (
        id, coach_id, client_id, amount_cents, currency, method, status, note, paid_at
    )
    select
        new.payment_id, v_coach_id, new.client_id, v_amount, c.currency, new.method,
        'succeeded'::public.payment_state, new.note, v_paid_at
    from public.coaches as c
    where c.id = v_coach_id;

    update public.lesson_participants as p set
        payment_status = 'paid'::public.payment_status,
        payment_id = new.payment_id,
        paid_at = v_paid_at
    where p.id = any(new.participant_ids) and p.coach_id = v_coach_id
        and p.client_id = new.client_id;

    return null;
end;
$$;

revoke execute on function private.record_requested_payment()
from public, anon, authenticated, service_role;

create trigger record_requested_payment before insert on private.payment_requests
for each row execute function private.record_requested_payment();

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
    v_payment_id uuid := pg_catalog.gen_random_uuid();
    v_payment public.payments;
begin
    if p_method is null
        or not p_method = any(pg_catalog.enum_range(null::public.payment_method)::text[]) then
        raise exception using
            errcode = 'CB002',
            message = pg_catalog.format('unknown payment method "%s"', p_method),
            hint = 'invalid_argument';
    end if;

    insert into private.payment_requests (payment_id, client_id, participant_ids, method, note)
    values (v_payment_id, p_client_id, p_participant_ids, p_method::public.payment_method, p_note);

    select * into v_payment from public.payments as pay
    where pay.id = v_payment_id and pay.coach_id = v_coach_id;
    return v_payment;
end;
$$;

-- Cancels a scheduled lesson: unpaid charges are waived (by the trigger
-- waive_charges_of_cancelled_lesson), paid ones stay paid (a refund is a
-- separate, deliberate act).
create or replace function public.cancel_lesson(p_lesson_id uuid, p_reason text default null)
returns public.lessons
language plpgsql
security invoker
set search_path = pg_catalog, pg_temp
as $$
declare
    v_coach_id uuid := private.require_coach_id();
    v_lesson public.lessons := private.lock_scheduled_lesson(v_coach_id, p_lesson_id);
begin
    update public.lessons as l set
        status = 'cancelled',
        cancelled_at = pg_catalog.now(),
        cancellation_reason = p_reason
    where l.id = v_lesson.id and l.coach_id = v_coach_id
    returning * into v_lesson;
    return v_lesson;
end;
$$;

-- Cancels the series' scheduled lessons that start at or after p_from
-- (their unpaid charges are waived by the trigger) and returns how many.
-- The series stays active while it still has scheduled lessons.
create or replace function public.cancel_recurring_lessons(
    p_recurring_lesson_id uuid, p_from timestamptz default now()
)
returns integer
language plpgsql
security invoker
set search_path = pg_catalog, pg_temp
as $$
declare
    v_coach_id uuid := private.require_coach_id();
    v_cancelled integer;
begin
    perform from public.recurring_lessons as r
    where r.id = p_recurring_lesson_id and r.coach_id = v_coach_id
    for update;
    if not found then
        raise exception using errcode = 'CB001', message = 'series not found', hint = 'not_found';
    end if;
    if p_from is null then
        raise exception using errcode = 'CB002', message = 'p_from is required', hint = 'invalid_argument';
    end if;

    update public.lessons as l set
        status = 'cancelled',
        cancelled_at = pg_catalog.now(),
        cancellation_reason = coalesce(l.cancellation_reason, 'series cancelled')
    where l.recurring_lesson_id = p_recurring_lesson_id and l.coach_id = v_coach_id
        and l.status = 'scheduled' and l.start_time >= p_from;
    get diagnostics v_cancelled = row_count;

    update public.recurring_lessons as r set is_active = exists (
        select from public.lessons as l
        where l.recurring_lesson_id = r.id and l.coach_id = v_coach_id and l.status = 'scheduled'
    )
    where r.id = p_recurring_lesson_id and r.coach_id = v_coach_id;

    return v_cancelled;
end;
$$;

-- The charges a Stripe checkout was created for, as recorded by
-- create_stripe_checkout_payment: settle_stripe_checkout pays these and no
-- others. Server code only (no API role but service_role may read or write).
create table private.checkout_charges (
    payment_id uuid not null references public.payments (id) on delete cascade,
    participant_id uuid not null,
    primary key (payment_id, participant_id)
);

revoke all on table private.checkout_charges from public, anon, authenticated, service_role;
grant select, insert on table private.checkout_charges to service_role;

-- Server code, when it opens a Stripe Checkout session for some charges:
-- the pending payment for their sum. The charges stay unpaid but point at
-- it (payment_id), and private.checkout_charges records them, so that
-- settling the session pays exactly those.
create or replace function public.create_stripe_checkout_payment(
    p_coach_id uuid,
    p_client_id uuid,
    p_participant_ids uuid[],
    p_checkout_session_id text
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

    insert into public.payments (
        coach_id, client_id, amount_cents, currency, method, status, stripe_checkout_session_id
    )
    select p_coach_id, p_client_id, v_amount, c.currency, 'stripe', 'pending', p_checkout_session_id
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
