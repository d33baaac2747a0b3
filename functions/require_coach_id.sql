-- The signed-in coach, or CB012. Like every require_* helper shared by the
-- RPC functions, SECURITY INVOKER: it runs with the caller's privileges and
-- row level security; the helpers add explicit coach_id filters on top
-- (defence in depth, and the same CB001 answer for "does not exist" and
-- "belongs to another coach").
create or replace function private.require_coach_id()
returns uuid
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_coach_id uuid := auth.uid();
begin
    if v_coach_id is null then
        raise exception using
            errcode = 'CB012',
            message = 'this function needs a signed-in coach',
            hint = 'not_authenticated';
    end if;
    return v_coach_id;
end;
$$;

comment on function private.require_coach_id() is
'The signed-in coach''s id, or CB012.';

revoke all on function private.require_coach_id()
from public, anon, authenticated, service_role;
grant execute on function private.require_coach_id()
to authenticated, service_role;
