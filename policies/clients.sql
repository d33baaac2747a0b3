-- Who can see a client: the coach it belongs to, and nobody else (service_role
-- bypasses RLS; anon has no grant).
-- One permissive policy per command, all bound to coach_id = the caller,
-- with auth.uid() wrapped in a select (evaluated once per statement).
alter table public.clients enable row level security;

drop policy if exists clients_select_own on public.clients;
create policy clients_select_own on public.clients
for select to authenticated
using (coach_id = (select auth.uid()));

-- WITH CHECK: a coach can not create a row for another coach.
drop policy if exists clients_insert_own on public.clients;
create policy clients_insert_own on public.clients
for insert to authenticated
with check (coach_id = (select auth.uid()));

-- WITH CHECK: a coach can not move its row to another coach.
drop policy if exists clients_update_own on public.clients;
create policy clients_update_own on public.clients
for update to authenticated
using (coach_id = (select auth.uid()))
with check (coach_id = (select auth.uid()));

drop policy if exists clients_delete_own on public.clients;
create policy clients_delete_own on public.clients
for delete to authenticated
using (coach_id = (select auth.uid()));
