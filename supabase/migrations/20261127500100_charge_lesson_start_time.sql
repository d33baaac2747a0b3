-- A client's latest lesson (client_balances.last_lesson_at) without reading
-- every charge the client ever had: each charge carries its lesson's start
-- time, kept by triggers, and an index on (client_id, coach_id,
-- lesson_start_time) answers "latest lesson before now" by one probe.
alter table public.lesson_participants add column lesson_start_time timestamptz;

-- The trigger functions as they are now; functions/ holds their current text.
create function private.copy_lesson_start_time()
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

revoke all on function private.copy_lesson_start_time()
from public, anon, authenticated, service_role;

create function private.move_charges_with_lesson()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    update public.lesson_participants as p set lesson_start_time = new.start_time
    where p.lesson_id = new.id and p.coach_id = new.coach_id;
    return null;
end;
$$;

revoke all on function private.move_charges_with_lesson()
from public, anon, authenticated, service_role;

-- The existing charges, filled in without their row triggers: nothing of
-- them changed (no audit-log entry, no new updated_at). The triggers are
-- off inside this migration's transaction only.
alter table public.lesson_participants disable trigger user;
update public.lesson_participants as p
set lesson_start_time = l.start_time
from public.lessons as l
where l.id = p.lesson_id and l.coach_id = p.coach_id;
alter table public.lesson_participants enable trigger user;

create trigger copy_lesson_start_time
before insert or update of lesson_id, lesson_start_time on public.lesson_participants
for each row execute function private.copy_lesson_start_time();

create trigger move_charges_with_lesson
after update of start_time on public.lessons
for each row when (old.start_time is distinct from new.start_time)
execute function private.move_charges_with_lesson();

-- Replaces lesson_participants_client_idx (client_id, coach_id): the new
-- index starts with the same columns, so the foreign key keeps its index.
-- squawk-ignore require-concurrent-index-creation
create index lesson_participants_client_start_time_idx
on public.lesson_participants (client_id, coach_id, lesson_start_time);
-- squawk-ignore require-concurrent-index-deletion
drop index public.lesson_participants_client_idx;
