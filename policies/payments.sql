-- Who can see a payment: the coach who received it. Coaches annotate
-- payments (their note) but never write anything else: a coach's payment is
-- created by record_payment (through private.payment_requests),
-- Stripe payments by server code. There is no insert or delete policy, and
-- no insert or delete grant.
-- auth.uid() is wrapped in a select (evaluated once per statement).
alter table public.payments enable row level security;

drop policy if exists payments_select_own on public.payments;
create policy payments_select_own on public.payments
for select to authenticated
using (coach_id = (select auth.uid()));

drop policy if exists payments_insert_own on public.payments;

-- WITH CHECK: a coach can not move a payment to another coach.
drop policy if exists payments_update_own on public.payments;
create policy payments_update_own on public.payments
for update to authenticated
using (coach_id = (select auth.uid()))
with check (coach_id = (select auth.uid()));
