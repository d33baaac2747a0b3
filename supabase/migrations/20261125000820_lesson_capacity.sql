-- Capacity under concurrency, at every isolation level.
--
-- Read committed (PostgREST): the trigger used to lock the lesson and read
-- its type's max_participants in one statement. When that statement waited
-- for a concurrent change of lesson_type_id, its re-check (EvalPlanQual) no
-- longer joined the old type row: the limit read as null, so none applied.
-- Now the lesson is locked first, and the limit and the count are read by
-- later statements, each on a fresh snapshot that sees the committed change.
--
-- Repeatable read or serializable (a direct connection may choose them):
-- a snapshot is taken once per transaction, so after waiting for the lock
-- the count would still miss the other transaction's participant. Every
-- capacity check therefore also writes the lesson's row in
-- private.lesson_capacity_claims: two transactions that check one lesson
-- write the same row, so the second waits for the first and then, in read
-- committed, re-reads everything, and in repeatable read or serializable
-- fails with 40001 (could not serialize access due to concurrent update) and
-- must be retried. No API role can see or write this table.
create table private.lesson_capacity_claims (
    lesson_id uuid primary key references public.lessons (id) on delete cascade,
    checks bigint not null default 1
);

revoke all on table private.lesson_capacity_claims from public, anon, authenticated, service_role;

-- SECURITY DEFINER because it writes private.lesson_capacity_claims, which
-- no API role may touch, and counts every participant of the lesson whatever
-- the caller may see. Safe: a trigger function can not be called directly
-- and EXECUTE is revoked from every API role; it reads only the lesson of
-- the row that fired it and writes only that lesson's claim row; fixed
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
    perform from public.lessons as l where l.id = v_lesson_id for no key update;
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
    where l.id = v_lesson_id;

    if v_max is null then
        return null;
    end if;

    select pg_catalog.count(*) into v_count
    from public.lesson_participants as p
    where p.lesson_id = v_lesson_id;

    if v_count > v_max then
        raise exception using
            errcode = 'CB004',
            message = pg_catalog.format('this lesson takes at most %s participants', v_max),
            hint = 'capacity_exceeded';
    end if;
    return null;
end;
$$;

revoke execute on function private.enforce_lesson_capacity()
from public, anon, authenticated, service_role;
