-- Validates the checks of 20261127100000_stripe_event_processing.sql in a
-- transaction of its own, so that adding them never blocked reads.
alter table public.stripe_events validate constraint stripe_events_outcome_length;

alter table public.payments validate constraint payments_refunded_not_negative;
