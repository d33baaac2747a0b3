-- What Stripe's webhooks record: the connected account and outcome of each
-- event, and the partial refunds of a payment. The functions that write them
-- are in functions/ (record_stripe_event, finish_stripe_event,
-- fail_stripe_checkout, refund_stripe_payment).

-- Which connected account sent the event (Stripe Connect), and what its
-- processing did: settled, failed, refunded, ignored, unmatched,
-- payment_mismatch or account_mismatch.
alter table public.stripe_events
add column account_id text,
add column outcome text;

alter table public.stripe_events
add constraint stripe_events_outcome_length check (char_length(outcome) <= 64) not valid;

-- Partial refunds: the payment stays succeeded and records how much went
-- back (Stripe's cumulative amount_refunded); a full refund turns it
-- refunded.
alter table public.payments
add column refunded_cents bigint not null default 0;

alter table public.payments
add constraint payments_refunded_not_negative check (refunded_cents >= 0) not valid;
