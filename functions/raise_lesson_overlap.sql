-- The exclusion constraint lessons_no_overlap says only that a slot is
-- taken; a coach wants to know by which lesson. Called from the handler of
-- that violation: names the first other lesson of the coach, not cancelled,
-- that overlaps [p_start, p_end), with its title and time in the coach's
-- time zone, and keeps SQLSTATE 23P01 and the key lesson_overlap. A lesson
-- the caller can not see yet (a concurrent booking not yet committed) leaves
-- the constraint's own words. Security invoker: it reads only what row level
-- security shows the caller, its own lessons.
create or replace function private.raise_lesson_overlap(
    p_coach_id uuid, p_start timestamptz, p_end timestamptz, p_lesson_id uuid
)
returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_other public.lessons;
    v_timezone text;
begin
    select * into v_other
    from public.lessons as l
    where l.coach_id = p_coach_id
        and l.status <> 'cancelled'
        and l.id is distinct from p_lesson_id
        and pg_catalog.tstzrange(l.start_time, l.end_time) && pg_catalog.tstzrange(p_start, p_end)
    order by l.start_time, l.id
    limit 1;
    if v_other.id is null then
        raise exception using
            errcode = '23P01',
            message = 'the lesson overlaps another lesson',
            constraint = 'lessons_no_overlap',
            hint = 'lesson_overlap';
    end if;

    select c.timezone into v_timezone from public.coaches as c where c.id = p_coach_id;
    v_timezone := coalesce(v_timezone, 'UTC');
    raise exception using
        errcode = '23P01',
        message = pg_catalog.format(
            'the lesson overlaps %s of %s to %s %s',
            coalesce('"' || v_other.title || '"', 'another lesson'),
            pg_catalog.to_char(v_other.start_time at time zone v_timezone, 'YYYY-MM-DD HH24:MI'),
            pg_catalog.to_char(v_other.end_time at time zone v_timezone, 'HH24:MI'),
            v_timezone
        ),
        detail = pg_catalog.format('overlapped lesson: %s', v_other.id),
        constraint = 'lessons_no_overlap',
        hint = 'lesson_overlap';
end;
$$;

comment on function private.raise_lesson_overlap(uuid, timestamptz, timestamptz, uuid) is
'Raises 23P01 lesson_overlap naming the coach''s lesson that overlaps a time range.';

revoke all on function private.raise_lesson_overlap(uuid, timestamptz, timestamptz, uuid)
from public, anon, authenticated, service_role;
grant execute on function private.raise_lesson_overlap(uuid, timestamptz, timestamptz, uuid)
to authenticated, service_role;
