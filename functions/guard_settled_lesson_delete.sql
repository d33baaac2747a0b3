-- Refuses (42501, charge_locked) deleting a lesson that has a settled
-- charge, unless the coach's account is being deleted: the cascade would
-- destroy the same history (the charge's own trigger refuses it too; this
-- one names the lesson). Cancelling the lesson keeps paid charges paid.
create or replace function private.guard_settled_lesson_delete()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    if not (
        pg_catalog.pg_trigger_depth() > 1
        and not exists (select from public.coaches as c where c.id = old.coach_id)
    ) and exists (
        select from public.lesson_participants as p
        where p.lesson_id = old.id and p.coach_id = old.coach_id
            and (p.payment_status in ('paid'::public.payment_status, 'refunded'::public.payment_status)
                or p.payment_id is not null)
    ) then
        raise exception using
            errcode = '42501',
            message = 'a lesson with a charge that is paid, refunded or in a checkout can not be deleted',
            hint = 'charge_locked';
    end if;
    return old;
end;
$$;

comment on function private.guard_settled_lesson_delete() is
'Trigger: a lesson with a settled charge is never deleted, except with its coach''s account.';

revoke all on function private.guard_settled_lesson_delete()
from public, anon, authenticated, service_role;
