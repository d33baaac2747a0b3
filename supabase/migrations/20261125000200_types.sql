-- Enumerations of the domain. An enum states the allowed values once; a
-- misspelt value fails on input (22P02) instead of being stored.

-- Where a lesson stands. Only `scheduled` lessons can still change.
create type public.lesson_status as enum ('scheduled', 'completed', 'cancelled', 'no_show');

-- What happened to one participant's charge.
create type public.payment_status as enum ('unpaid', 'paid', 'waived', 'refunded');

-- How money arrived.
create type public.payment_method as enum ('stripe', 'cash', 'card', 'bank_transfer', 'other');

-- Where a payment stands: Stripe payments start `pending`, the others succeed at once.
create type public.payment_state as enum ('pending', 'succeeded', 'failed', 'refunded');

-- How often a series repeats.
create type public.lesson_frequency as enum ('weekly', 'biweekly');

-- What an audit entry records.
create type public.audit_action as enum ('INSERT', 'UPDATE', 'DELETE');

-- The API roles may name these types (casts in queries, RPC parameters).
grant usage on type public.lesson_status, public.payment_status, public.payment_method,
public.payment_state, public.lesson_frequency, public.audit_action
to authenticated, service_role;
