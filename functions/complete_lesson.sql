-- Marks a scheduled lesson completed and records who attended: every
-- participant attended except the clients listed as absent, each of whom
-- must be a participant (CB001).
create or replace function public.complete_lesson(
    p_lesson_id uuid, p_absent_client_ids uuid[] default '{}'
)
returns public.lessons
language plpgsql
security invoker
set search_path = pg_catalog, pg_temp
as $$
declare
    v_coach_id uuid := private.require_coach_id();
    v_lesson public.lessons := private.lock_scheduled_lesson(v_coach_id, p_lesson_id);
    v_absent uuid[] := coalesce(p_absent_client_ids, '{}');
begin
    if pg_catalog.cardinality(v_absent) > 0 then
        perform private.require_id_list(v_absent, 'p_absent_client_ids');
        if (
            select pg_catalog.count(*) from public.lesson_participants as p
            where p.lesson_id = v_lesson.id and p.coach_id = v_coach_id
                and p.client_id = any(v_absent)
        ) <> pg_catalog.cardinality(v_absent) then
            raise exception using
                errcode = 'CB001',
                message = 'an absent client is not a participant of this lesson',
                hint = 'not_found';
        end if;
    end if;

    update public.lesson_participants as p set attended = not (p.client_id = any(v_absent))
    where p.lesson_id = v_lesson.id and p.coach_id = v_coach_id;

    update public.lessons as l set status = 'completed'
    where l.id = v_lesson.id and l.coach_id = v_coach_id
    returning * into v_lesson;
    return v_lesson;
end;
$$;

comment on function public.complete_lesson(uuid, uuid[]) is
'Marks a scheduled lesson completed and records who was absent.';

revoke all on function public.complete_lesson(uuid, uuid[])
from public, anon, authenticated, service_role;
grant execute on function public.complete_lesson(uuid, uuid[])
to authenticated, service_role;
