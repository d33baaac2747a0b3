-- Who can see a coach's profile: the coach itself. Rows are created by the
-- sign-up trigger and removed with the auth user, so there is no insert or
-- delete policy (and no grant): only select and update, both bound to the
-- caller's own id. auth.uid() is wrapped in a select so that it is
-- evaluated once per statement, not once per row.
alter table public.coaches enable row level security;

drop policy if exists coaches_select_own on public.coaches;
create policy coaches_select_own on public.coaches
for select to authenticated
using (id = (select auth.uid()));

-- WITH CHECK: the updated row must still be the caller's (id can not change).
drop policy if exists coaches_update_own on public.coaches;
create policy coaches_update_own on public.coaches
for update to authenticated
using (id = (select auth.uid()))
with check (id = (select auth.uid()));
