-- Who can see a series of lessons: the coach who runs it.
-- One permissive policy per command, all bound to coach_id = the caller,
-- with auth.uid() wrapped in a select (evaluated once per statement).
alter table public.recurring_lessons enable row level security;

drop policy if exists recurring_lessons_select_own on public.recurring_lessons;
create policy recurring_lessons_select_own on public.recurring_lessons
for select to authenticated
using (coach_id = (select auth.uid()));

-- WITH CHECK: a coach can not create a row for another coach.
drop policy if exists recurring_lessons_insert_own on public.recurring_lessons;
create policy recurring_lessons_insert_own on public.recurring_lessons
for insert to authenticated
with check (coach_id = (select auth.uid()));

-- WITH CHECK: a coach can not move its row to another coach.
drop policy if exists recurring_lessons_update_own on public.recurring_lessons;
create policy recurring_lessons_update_own on public.recurring_lessons
for update to authenticated
using (coach_id = (select auth.uid()))
with check (coach_id = (select auth.uid()));

drop policy if exists recurring_lessons_delete_own on public.recurring_lessons;
create policy recurring_lessons_delete_own on public.recurring_lessons
for delete to authenticated
using (coach_id = (select auth.uid()));
