-- Who may touch which table. Explicit, never inherited from default
-- privileges (Supabase stopped exposing new tables by default): revoke
-- everything, then grant what each role needs. Row level security (see
-- policies/) then narrows every grant to the caller's own rows.

revoke all on table
public.coaches, public.clients, public.lesson_types, public.recurring_lessons,
public.lessons, public.lesson_participants, public.payments, public.audit_log,
public.stripe_events
from public, anon, authenticated, service_role;

-- anon: nothing at all. A visitor who is not signed in has no business data.

-- authenticated (a coach through the frontend). Coaches rows are made by
-- the sign-up trigger and removed with the auth user, so a coach only reads
-- and edits its profile; stripe_account_id is set by server code, not the coach.
grant select on table public.coaches to authenticated;
grant update (full_name, business_name, timezone, currency) on table public.coaches
to authenticated;

-- The coach's own books: full read and write, bounded by RLS to its rows.
grant select, insert, update, delete on table
public.clients, public.lesson_types, public.recurring_lessons, public.lessons,
public.lesson_participants
to authenticated;

-- Payments are recorded (record_payment runs as the coach) and annotated,
-- never deleted: a mistake is corrected by a refund, not by erasing history.
grant select, insert on table public.payments to authenticated;
grant update (note) on table public.payments to authenticated;

-- The coach's audit trail, read-only.
grant select on table public.audit_log to authenticated;

-- service_role (webhooks, jobs): everything server code needs. It reads
-- the audit trail but can not change it; stripe_events is its alone.
grant select, insert, update, delete on table
public.coaches, public.clients, public.lesson_types, public.recurring_lessons,
public.lessons, public.lesson_participants, public.payments, public.stripe_events
to service_role;
grant select on table public.audit_log to service_role;
