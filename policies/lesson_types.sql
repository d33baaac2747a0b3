-- Who can see a lesson type: the coach who offers it.
-- One permissive policy per command, all bound to coach_id = the caller,
-- with auth.uid() wrapped in a select (evaluated once per statement).
alter table public.lesson_types enable row level security;

drop policy if exists lesson_types_select_own on public.lesson_types;
create policy lesson_types_select_own on public.lesson_types
for select to authenticated
using (coach_id = (select auth.uid()));

-- WITH CHECK: a coach can not create a row for another coach.
drop policy if exists lesson_types_insert_own on public.lesson_types;
create policy lesson_types_insert_own on public.lesson_types
for insert to authenticated
with check (coach_id = (select auth.uid()));

-- WITH CHECK: a coach can not move its row to another coach.
drop policy if exists lesson_types_update_own on public.lesson_types;
create policy lesson_types_update_own on public.lesson_types
for update to authenticated
using (coach_id = (select auth.uid()))
with check (coach_id = (select auth.uid()));

drop policy if exists lesson_types_delete_own on public.lesson_types;
create policy lesson_types_delete_own on public.lesson_types
for delete to authenticated
using (coach_id = (select auth.uid()));
