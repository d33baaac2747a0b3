-- The coach's lesson, locked for the rest of the transaction, and still
-- scheduled (CB001, CB008).
create or replace function private.lock_scheduled_lesson(p_coach_id uuid, p_lesson_id uuid)
returns public.lessons
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    v_lesson public.lessons;
begin
    select * into v_lesson
    from public.lessons as l
    where l.id = p_lesson_id and l.coach_id = p_coach_id
    for update;
    if not found then
        raise exception using errcode = 'CB001', message = 'lesson not found', hint = 'not_found';
    end if;
    if v_lesson.status <> 'scheduled' then
        raise exception using
            errcode = 'CB008',
            message = pg_catalog.format('the lesson is %s and can not change', v_lesson.status),
            hint = 'lesson_not_editable';
    end if;
    return v_lesson;
end;
$$;

comment on function private.lock_scheduled_lesson(uuid, uuid) is
'The coach''s scheduled lesson, locked for the rest of the transaction (CB001, CB008).';

revoke all on function private.lock_scheduled_lesson(uuid, uuid)
from public, anon, authenticated, service_role;
grant execute on function private.lock_scheduled_lesson(uuid, uuid)
to authenticated, service_role;
