-- The audit trail: who (auth.uid() and the role), what (action, table, row
-- id), the request it came from (its x-request-id header), and the row
-- before and after. SECURITY DEFINER because audit_log accepts inserts from
-- its owner only: no API role can forge or alter an entry. Safe: a trigger
-- function can not be called directly, EXECUTE is revoked anyway, the search
-- path is pg_catalog then pg_temp and every type is schema-qualified (no
-- caller object, such as a pg_temp type, is ever resolved), and it reads
-- nothing but the row and the request settings. Nothing in it can fail on
-- user data: the row goes in as jsonb, the ids are read from typed columns,
-- and the claims and the headers are parsed defensively.
create or replace function private.write_audit_log()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_row pg_catalog.jsonb;
    v_claims pg_catalog.text := pg_catalog.current_setting('request.jwt.claims', true);
    v_sub pg_catalog.text := pg_catalog.current_setting('request.jwt.claim.sub', true);
    v_role pg_catalog.text := pg_catalog.current_setting('role');
    v_headers pg_catalog.text := pg_catalog.current_setting('request.headers', true);
    v_request_header pg_catalog.jsonb;
    v_request_id pg_catalog.text;
begin
    if tg_op = 'DELETE' then
        v_row := pg_catalog.to_jsonb(old);
    else
        v_row := pg_catalog.to_jsonb(new);
    end if;

    if coalesce(v_sub, '') = '' and coalesce(v_claims, '') <> '' then
        begin
            v_sub := v_claims::pg_catalog.jsonb ->> 'sub';
        exception
            when others then
                v_sub := null;
        end;
    end if;
    if v_sub !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
        v_sub := null;
    end if;

    if coalesce(v_headers, '') <> '' then
        begin
            v_request_header := v_headers::pg_catalog.jsonb -> 'x-request-id';
            if pg_catalog.jsonb_typeof(v_request_header) = 'string' then
                v_request_id := pg_catalog.left(v_request_header #>> '{}', 200);
            end if;
        exception
            when others then
                v_request_id := null;
        end;
    end if;

    insert into public.audit_log (
        coach_id, actor_id, actor_role, action, table_name, record_id, old_data, new_data,
        request_id
    )
    values (
        (v_row ->> tg_argv[0])::pg_catalog.uuid,
        v_sub::pg_catalog.uuid,
        case when v_role = 'none' then session_user::pg_catalog.text else v_role end,
        tg_op::public.audit_action,
        tg_table_name::pg_catalog.text,
        v_row ->> 'id',
        case when tg_op <> 'INSERT' then pg_catalog.to_jsonb(old) end,
        case when tg_op <> 'DELETE' then pg_catalog.to_jsonb(new) end,
        nullif(v_request_id, '')
    );
    return null;
end;
$$;

comment on function private.write_audit_log() is
'Trigger: appends who changed which row, from which request, before and after.';

revoke all on function private.write_audit_log()
from public, anon, authenticated, service_role;
