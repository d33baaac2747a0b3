-- Who can see a lesson: the coach who gives it. That a lesson's client,
-- type and series are the same coach's is a foreign key (with coach_id), not
-- a policy.
-- One permissive policy per command, all bound to coach_id = the caller,
-- with auth.uid() wrapped in a select (evaluated once per statement).
alter table public.lessons enable row level security;

drop policy if exists lessons_select_own on public.lessons;
create policy lessons_select_own on public.lessons
for select to authenticated
using (coach_id = (select auth.uid()));

-- WITH CHECK: a coach can not create a row for another coach.
drop policy if exists lessons_insert_own on public.lessons;
create policy lessons_insert_own on public.lessons
for insert to authenticated
with check (coach_id = (select auth.uid()));

-- WITH CHECK: a coach can not move its row to another coach.
drop policy if exists lessons_update_own on public.lessons;
create policy lessons_update_own on public.lessons
for update to authenticated
using (coach_id = (select auth.uid()))
with check (coach_id = (select auth.uid()));

drop policy if exists lessons_delete_own on public.lessons;
create policy lessons_delete_own on public.lessons
for delete to authenticated
using (coach_id = (select auth.uid()));
