-- SECURITY DEFINER because it writes private.lesson_capacity_claims, which
-- no API role may touch, and counts every participant of the lesson whatever
-- the caller may see. Safe: a trigger function can not be called directly
-- and EXECUTE is revoked from every API role; it reads only the lesson of
-- the row that fired it (with that row's coach_id) and writes only that lesson's claim row; fixed
-- search path (pg_catalog, pg_temp) and schema-qualified types.
create or replace function private.enforce_lesson_capacity()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_lesson_id pg_catalog.uuid := new.id;
    v_max pg_catalog.int4;
    v_count pg_catalog.int8;
begin
    if tg_table_name = 'lesson_participants' then
        v_lesson_id := new.lesson_id;
    end if;

    -- 1. Lock the lesson: waits for a concurrent writer of this lesson or its type.
    -- Only a lesson of the row's own coach: another coach's lesson is never
    -- locked (nor waited for) before the foreign key refuses the row.
    perform from public.lessons as l
    where l.id = v_lesson_id and l.coach_id = new.coach_id
    for no key update;
    if not found then
        return null;
    end if;

    -- 2. Claim the check: a write that conflicts with any concurrent check of this lesson.
    insert into private.lesson_capacity_claims as cl (lesson_id) values (v_lesson_id)
    on conflict (lesson_id) do update set checks = cl.checks + 1;

    -- 3. The limit, read after the lock (a fresh snapshot in read committed).
    select lt.max_participants into v_max
    from public.lessons as l
    inner join public.lesson_types as lt on lt.id = l.lesson_type_id and lt.coach_id = l.coach_id
    where l.id = v_lesson_id and l.coach_id = new.coach_id;

    if v_max is null then
        return null;
    end if;

    select pg_catalog.count(*) into v_count
    from public.lesson_participants as p
    where p.lesson_id = v_lesson_id and p.coach_id = new.coach_id;

    if v_count > v_max then
        raise exception using
            errcode = 'CB004',
            message = pg_catalog.format('this lesson takes at most %s participants', v_max),
            hint = 'capacity_exceeded';
    end if;
    return null;
end;
$$;

comment on function private.enforce_lesson_capacity() is
'Trigger: refuses a participant past the lesson type''s capacity (CB004) at any isolation.';

revoke all on function private.enforce_lesson_capacity()
from public, anon, authenticated, service_role;
