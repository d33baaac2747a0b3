-- A charge carries its lesson's start time (lesson_participants.lesson_start_time)
-- so that a client's latest lesson is one index probe, not a walk through
-- every charge the client ever had. The copy is always taken from the
-- lesson, whatever the writer sent: it can not be set to anything else.
-- Runs as the caller: the lesson is read under the caller's row level
-- security, and a lesson the caller can not see leaves the copy null (the
-- foreign key (lesson_id, coach_id) then refuses the row anyway).
create or replace function private.copy_lesson_start_time()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    new.lesson_start_time := (
        select l.start_time from public.lessons as l
        where l.id = new.lesson_id and l.coach_id = new.coach_id
    );
    return new;
end;
$$;

comment on function private.copy_lesson_start_time() is
'Trigger: a charge''s lesson_start_time is its lesson''s start_time, whatever was written.';

revoke all on function private.copy_lesson_start_time()
from public, anon, authenticated, service_role;
