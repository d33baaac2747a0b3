-- One write path per rule: what a coach may write directly through the
-- Supabase client obeys every rule the RPC functions obey, and a direct
-- write's answer depends on the coach's own rows only. docs/rules.md has
-- the table, rule by rule.
--
-- 1. Column privileges. The database makes ids and timestamps; a coach
--    names neither on an insert nor changes them on an update (42501,
--    permission denied), so a chosen or renamed id can not collide with
--    another coach's row, and an upsert on id is refused before any row is
--    looked at. A series keeps its schedule (only its title and is_active
--    change); a lesson keeps its series (set by create_recurring_lessons).
--    service_role keeps table-wide privileges.
revoke insert, update on table
public.clients, public.lesson_types, public.recurring_lessons, public.lessons,
public.lesson_participants
from authenticated;

grant insert (coach_id, first_name, last_name, email, phone, notes, is_active)
on table public.clients to authenticated;
grant update (first_name, last_name, email, phone, notes, is_active)
on table public.clients to authenticated;

grant insert (
    coach_id, name, description, duration_minutes, price_cents, max_participants, is_active
)
on table public.lesson_types to authenticated;
grant update (name, description, duration_minutes, price_cents, max_participants, is_active)
on table public.lesson_types to authenticated;

grant insert (
    coach_id, lesson_type_id, title, frequency, first_start_time, duration_minutes, timezone,
    until_date, occurrences, is_active
)
on table public.recurring_lessons to authenticated;
grant update (title, is_active) on table public.recurring_lessons to authenticated;

grant insert (
    coach_id, client_id, lesson_type_id, recurring_lesson_id, is_recurring, title, start_time,
    end_time, status, location, notes, price_cents, cancelled_at, cancellation_reason
)
on table public.lessons to authenticated;
grant update (
    client_id, lesson_type_id, title, start_time, end_time, status, location, notes, price_cents,
    cancelled_at, cancellation_reason
)
on table public.lessons to authenticated;

grant insert (lesson_id, client_id, coach_id, price_cents, attended)
on table public.lesson_participants to authenticated;
grant update (price_cents, attended) on table public.lesson_participants to authenticated;

-- 2. A client sits once in a lesson, checked among the coach's own rows:
--    the key includes coach_id (a lesson has one coach, so the rule is
--    the same), and a participant row naming another coach's lesson and
--    client is refused by the foreign key (23503) whether or not that
--    client is in that lesson, without waiting for that coach's writers.
-- squawk-ignore require-concurrent-index-creation
create unique index lesson_participants_lesson_client_coach_key
on public.lesson_participants (lesson_id, client_id, coach_id);
-- The old key is replaced in the same statement, so the guarantee holds throughout.
alter table public.lesson_participants
-- squawk-ignore ban-drop-constraint
drop constraint lesson_participants_lesson_client_key,
-- squawk-ignore disallowed-unique-constraint
add constraint lesson_participants_lesson_client_coach_key
unique using index lesson_participants_lesson_client_coach_key;

-- 3. Only a scheduled lesson changes, and its status leaves `scheduled`
--    once (CB008), whoever writes it; a coach gives a lesson an active
--    type only (CB003).
create function private.guard_lesson_change()
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

revoke execute on function private.guard_lesson_change()
from public, anon, authenticated, service_role;

create trigger guard_lesson_change before insert or update on public.lessons
for each row execute function private.guard_lesson_change();

-- 4. Participants join a scheduled lesson only (CB008).
create function private.guard_charge_lesson_status()
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

revoke execute on function private.guard_charge_lesson_status()
from public, anon, authenticated, service_role;

create trigger guard_charge_lesson_status before insert on public.lesson_participants
for each row execute function private.guard_charge_lesson_status();

-- 5. Capacity from the type's side: lowering max_participants below a
--    lesson's head-count is refused (CB004). Raising it can not break the
--    rule, so only a lower value is checked.
create function private.enforce_type_capacity()
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

revoke execute on function private.enforce_type_capacity()
from public, anon, authenticated, service_role;

create trigger enforce_type_capacity after update of max_participants on public.lesson_types
for each row when (new.max_participants < old.max_participants)
execute function private.enforce_type_capacity();
