-- Who can see a participant (a client's charge for a lesson): the coach of
-- the lesson. The foreign keys (lesson_id, coach_id) and (client_id,
-- coach_id) make sure lesson and client are that coach's too.
-- One permissive policy per command, all bound to coach_id = the caller,
-- with auth.uid() wrapped in a select (evaluated once per statement).
alter table public.lesson_participants enable row level security;

drop policy if exists lesson_participants_select_own on public.lesson_participants;
create policy lesson_participants_select_own on public.lesson_participants
for select to authenticated
using (coach_id = (select auth.uid()));

-- WITH CHECK: a coach can not create a row for another coach.
drop policy if exists lesson_participants_insert_own on public.lesson_participants;
create policy lesson_participants_insert_own on public.lesson_participants
for insert to authenticated
with check (coach_id = (select auth.uid()));

-- WITH CHECK: a coach can not move its row to another coach.
drop policy if exists lesson_participants_update_own on public.lesson_participants;
create policy lesson_participants_update_own on public.lesson_participants
for update to authenticated
using (coach_id = (select auth.uid()))
with check (coach_id = (select auth.uid()));

drop policy if exists lesson_participants_delete_own on public.lesson_participants;
create policy lesson_participants_delete_own on public.lesson_participants
for delete to authenticated
using (coach_id = (select auth.uid()));
