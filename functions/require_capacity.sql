-- Early, friendly capacity check; the constraint trigger is what guarantees it.
create or replace function private.require_capacity(
    p_type public.lesson_types, p_participants integer
)
returns void
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
    if p_type.max_participants is not null and p_participants > p_type.max_participants then
        raise exception using
            errcode = 'CB004',
            message = pg_catalog.format(
                'this lesson takes at most %s participants, %s given',
                p_type.max_participants, p_participants
            ),
            hint = 'capacity_exceeded';
    end if;
end;
$$;

comment on function private.require_capacity(public.lesson_types, integer) is
'Early capacity check (CB004); the capacity trigger is what guarantees it.';

revoke all on function private.require_capacity(public.lesson_types, integer)
from public, anon, authenticated, service_role;
grant execute on function private.require_capacity(public.lesson_types, integer)
to authenticated, service_role;
