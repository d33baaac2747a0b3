-- Who can see a payment: the coach who received it. Coaches record
-- payments (record_payment runs as the coach) and annotate them, but never
-- delete them: there is no delete policy and no delete grant.
-- auth.uid() is wrapped in a select (evaluated once per statement).
alter table public.payments enable row level security;

drop policy if exists payments_select_own on public.payments;
create policy payments_select_own on public.payments
for select to authenticated
using (coach_id = (select auth.uid()));

-- WITH CHECK: a coach can not record a payment for another coach.
drop policy if exists payments_insert_own on public.payments;
create policy payments_insert_own on public.payments
for insert to authenticated
with check (coach_id = (select auth.uid()));

-- WITH CHECK: a coach can not move a payment to another coach.
drop policy if exists payments_update_own on public.payments;
create policy payments_update_own on public.payments
for update to authenticated
using (coach_id = (select auth.uid()))
with check (coach_id = (select auth.uid()));
