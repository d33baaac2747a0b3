-- Only a scheduled lesson changes, on every path (the RPC functions, a
-- direct update through the Supabase client, server code):
--   - a completed, cancelled or no-show lesson keeps every column, so its
--     status never goes back (CB008); only its series link may be cleared,
--     which deleting the series does (foreign key `on delete set null`);
--   - a lesson leaves `scheduled` once, for `completed`, `cancelled` or
--     `no_show`; becoming cancelled stamps `cancelled_at` when none is given;
--   - a new lesson is scheduled, and a lesson gets an active lesson type
--     only (CB003), as the functions that create lessons require, unless
--     its writer may rewrite every lesson anyway (service_role and the
--     owner importing history: table-wide UPDATE, which coaches do not
--     hold).
-- Runs as the caller: it reads the row and, through row level security,
-- the caller's own lesson type, nothing of another coach.
create or replace function private.guard_lesson_change()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    if (tg_op = 'INSERT' or new.lesson_type_id is distinct from old.lesson_type_id)
        and not pg_catalog.has_table_privilege('public.lessons', 'UPDATE')
        and exists (
            select from public.lesson_types as lt
            where lt.id = new.lesson_type_id and lt.coach_id = new.coach_id and not lt.is_active
        ) then
        raise exception using
            errcode = 'CB003', message = 'the lesson type is not active', hint = 'lesson_type_inactive';
    end if;
    if tg_op = 'INSERT' then
        if new.status <> 'scheduled'::public.lesson_status
            and not pg_catalog.has_table_privilege('public.lessons', 'UPDATE') then
            raise exception using
                errcode = 'CB008',
                message = 'a new lesson is scheduled: complete_lesson and cancel_lesson change its status',
                hint = 'lesson_not_editable';
        end if;
        return new;
    end if;

    if old.status <> 'scheduled'::public.lesson_status
        and pg_catalog.to_jsonb(new) - 'recurring_lesson_id' - 'updated_at'
        <> pg_catalog.to_jsonb(old) - 'recurring_lesson_id' - 'updated_at' then
        raise exception using
            errcode = 'CB008',
            message = pg_catalog.format('the lesson is %s and can not change', old.status),
            hint = 'lesson_not_editable';
    end if;
    if new.status = 'cancelled'::public.lesson_status and old.status <> new.status then
        new.cancelled_at := coalesce(new.cancelled_at, pg_catalog.now());
    end if;
    return new;
end;
$$;

comment on function private.guard_lesson_change() is
'Trigger: only a scheduled lesson changes, its status leaves scheduled once (CB008).';

revoke all on function private.guard_lesson_change()
from public, anon, authenticated, service_role;
