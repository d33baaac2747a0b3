-- The coach's active lesson type (CB001, CB003); null for a null id.
create or replace function private.require_active_lesson_type(
    p_coach_id uuid, p_lesson_type_id uuid
)
returns public.lesson_types
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_type public.lesson_types;
begin
    if p_lesson_type_id is null then
        return null;
    end if;
    select * into v_type
    from public.lesson_types as lt
    where lt.id = p_lesson_type_id and lt.coach_id = p_coach_id;
    if not found then
        raise exception using
            errcode = 'CB001', message = 'lesson type not found', hint = 'not_found';
    end if;
    if not v_type.is_active then
        raise exception using
            errcode = 'CB003',
            message = pg_catalog.format('lesson type "%s" is not active', v_type.name),
            hint = 'lesson_type_inactive';
    end if;
    return v_type;
end;
$$;

comment on function private.require_active_lesson_type(uuid, uuid) is
'The coach''s active lesson type (CB001, CB003); null for a null id.';

revoke all on function private.require_active_lesson_type(uuid, uuid)
from public, anon, authenticated, service_role;
grant execute on function private.require_active_lesson_type(uuid, uuid)
to authenticated, service_role;
