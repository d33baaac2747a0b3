-- A participant joins only a scheduled lesson, as update_lesson adds them:
-- a coach can not add a charge to a completed, cancelled or no-show lesson
-- with a direct insert (CB008). Server code that may rewrite every charge
-- (table-wide UPDATE: service_role, the owner importing history) may.
-- Runs as the caller: a lesson the caller can not see (another coach's) is
-- not read and not locked, and the tenant-safe foreign key then refuses
-- the row exactly as it refuses a lesson id that does not exist.
create or replace function private.guard_charge_lesson_status()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    if not pg_catalog.has_table_privilege('public.lesson_participants', 'UPDATE')
        and exists (
            select from public.lessons as l
            where l.id = new.lesson_id and l.coach_id = new.coach_id
                and l.status <> 'scheduled'::public.lesson_status
        ) then
        raise exception using
            errcode = 'CB008',
            message = 'participants join a scheduled lesson only',
            hint = 'lesson_not_editable';
    end if;
    return new;
end;
$$;

comment on function private.guard_charge_lesson_status() is
'Trigger: a coach adds participants to a scheduled lesson only (CB008).';

revoke all on function private.guard_charge_lesson_status()
from public, anon, authenticated, service_role;
