-- Capacity from the lesson type's side: lowering max_participants below the
-- head-count of one of the type's lessons is refused (CB004), as adding a
-- participant past it is (private.enforce_lesson_capacity). The same
-- protocol serialises both sides: every lesson of the type is locked and
-- its capacity claim written before the counts are read, so a concurrent
-- participant insert either finishes first and is counted, or waits and
-- then reads the new limit (read committed), or fails with 40001
-- (repeatable read, serializable).
--
-- SECURITY DEFINER because it writes private.lesson_capacity_claims, which
-- no API role may touch, and counts every participant of those lessons.
-- Safe: a trigger function can not be called directly and EXECUTE is
-- revoked from every API role; it reads and locks only the lessons of the
-- type whose row fired it, filtered by that row's coach_id; fixed search
-- path (pg_catalog, pg_temp) and schema-qualified types.
create or replace function private.enforce_type_capacity()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_largest pg_catalog.int8;
begin
    perform from public.lessons as l
    where l.lesson_type_id = new.id and l.coach_id = new.coach_id
    order by l.id
    for no key update;

    insert into private.lesson_capacity_claims as cl (lesson_id)
    select l.id from public.lessons as l
    where l.lesson_type_id = new.id and l.coach_id = new.coach_id
    order by l.id
    on conflict (lesson_id) do update set checks = cl.checks + 1;

    select pg_catalog.max(n.participants) into v_largest
    from (
        select pg_catalog.count(*) as participants
        from public.lesson_participants as p
        inner join public.lessons as l on p.lesson_id = l.id and p.coach_id = l.coach_id
        where l.lesson_type_id = new.id and l.coach_id = new.coach_id
        group by p.lesson_id
    ) as n;

    if v_largest > new.max_participants then
        raise exception using
            errcode = 'CB004',
            message = pg_catalog.format(
                'a lesson of this type has %s participants: max_participants can not be %s',
                v_largest, new.max_participants
            ),
            hint = 'capacity_exceeded';
    end if;
    return null;
end;
$$;

comment on function private.enforce_type_capacity() is
'Trigger: max_participants can not drop below the head-count of a lesson of the type (CB004).';

revoke all on function private.enforce_type_capacity()
from public, anon, authenticated, service_role;
