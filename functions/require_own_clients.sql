-- Every client of the list is one of the coach's, or CB001.
create or replace function private.require_own_clients(p_coach_id uuid, p_client_ids uuid[])
returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    perform private.require_id_list(p_client_ids, 'p_client_ids', 'CB005');
    if (
        select pg_catalog.count(*) from public.clients as c
        where c.id = any(p_client_ids) and c.coach_id = p_coach_id
    ) <> pg_catalog.cardinality(p_client_ids) then
        raise exception using
            errcode = 'CB001',
            message = 'a client of the list was not found',
            hint = 'not_found';
    end if;
end;
$$;

comment on function private.require_own_clients(uuid, uuid[]) is
'Refuses (CB001) a client list with any client that is not the coach''s.';

revoke all on function private.require_own_clients(uuid, uuid[])
from public, anon, authenticated, service_role;
grant execute on function private.require_own_clients(uuid, uuid[])
to authenticated, service_role;
