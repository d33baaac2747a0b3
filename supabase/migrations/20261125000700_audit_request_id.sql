-- Every audit entry names the request that caused it: the `x-request-id`
-- header, which PostgREST and the direct gateway put, transaction-locally, in
-- request.headers (JSON, lower-case names). Null when there is no request or
-- no usable id.

-- Nullable, no default: adding it rewrites nothing. At most 200 characters:
-- the trigger truncates, the constraint guarantees it. NOT VALID skips the
-- scan of the existing entries, which all hold null; every new or changed
-- row is checked all the same. No index: no policy or view filters on it.
alter table public.audit_log add column request_id text;
alter table public.audit_log add constraint audit_log_request_id_length
check (char_length(request_id) <= 200) not valid;

-- As in 20261125000400_triggers.sql, plus the request id.
-- The audit trail: who (auth.uid() and the role), what (action, table, row
-- id), the request it came from, and the row before and after. SECURITY
-- DEFINER because audit_log accepts inserts from its owner only: no API role
-- can forge or alter an entry. Safe: a trigger function can not be called
-- directly, EXECUTE is revoked anyway, search_path is empty, and it reads
-- nothing but the row and the request settings. Nothing in it can fail on
-- user data: the row goes in as jsonb, the ids are read from typed columns,
-- and the claims and the headers are parsed defensively (unparsable headers,
-- an absent, empty or non-string id give null; a long id is cut to 200
-- characters).
create or replace function private.write_audit_log()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_row jsonb;
    v_claims text := pg_catalog.current_setting('request.jwt.claims', true);
    v_sub text := pg_catalog.current_setting('request.jwt.claim.sub', true);
    v_role text := pg_catalog.current_setting('role');
    v_headers text := pg_catalog.current_setting('request.headers', true);
    v_request_header jsonb;
    v_request_id text;
begin
    if tg_op = 'DELETE' then
        v_row := pg_catalog.to_jsonb(old);
    else
        v_row := pg_catalog.to_jsonb(new);
    end if;

    if coalesce(v_sub, '') = '' and coalesce(v_claims, '') <> '' then
        begin
            v_sub := v_claims::jsonb ->> 'sub';
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
            v_request_header := v_headers::jsonb -> 'x-request-id';
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
        (v_row ->> tg_argv[0])::uuid,
        v_sub::uuid,
        case when v_role = 'none' then session_user else v_role end,
        tg_op::public.audit_action,
        tg_table_name,
        v_row ->> 'id',
        case when tg_op <> 'INSERT' then pg_catalog.to_jsonb(old) end,
        case when tg_op <> 'DELETE' then pg_catalog.to_jsonb(new) end,
        nullif(v_request_id, '')
    );
    return null;
end;
$$;

revoke execute on function private.write_audit_log() from public, anon, authenticated, service_role;
