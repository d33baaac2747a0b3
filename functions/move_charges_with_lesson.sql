-- A lesson that moves takes its charges' copy of its start time along
-- (see private.copy_lesson_start_time). SECURITY DEFINER because coaches
-- hold no UPDATE privilege on lesson_start_time. Safe: a trigger function
-- can not be called directly and EXECUTE is revoked from every API role; it
-- touches only the charges of the lesson whose row fired it (same id and
-- coach_id, which RLS already let the caller update), only that column, and
-- the value it writes is recomputed from the lesson by the charges' own
-- trigger; fixed search path (pg_catalog, pg_temp).
create or replace function private.move_charges_with_lesson()
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

comment on function private.move_charges_with_lesson() is
'Trigger: a moved lesson''s charges follow it (their copy of its start time).';

revoke all on function private.move_charges_with_lesson()
from public, anon, authenticated, service_role;
