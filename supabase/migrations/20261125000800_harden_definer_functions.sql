-- Search path hygiene for every function.
--
-- `set search_path = ''` is not an empty search path: PostgreSQL still looks
-- in the session's temporary schema (pg_temp) FIRST for relations and types.
-- A SECURITY DEFINER function whose body names a bare type (uuid, jsonb,
-- text…) could then resolve it to a caller's `pg_temp.uuid` domain whose
-- check calls the caller's function, which runs as the function's owner.
-- Every function now fixes `search_path = pg_catalog, pg_temp`: pg_catalog
-- first, the temporary schema explicitly last (pg_temp is never searched for
-- functions and operators). The SECURITY DEFINER functions also qualify
-- every type in their bodies, so that they do not depend on the path at all.

-- The audit trail, as in 20261125000700_audit_request_id.sql: who
-- (auth.uid() and the role), what (action, table, row id), the request it
-- came from, and the row before and after. SECURITY DEFINER because
-- audit_log accepts inserts from its owner only: no API role can forge or
-- alter an entry. Safe: a trigger function can not be called directly,
-- EXECUTE is revoked anyway, the search path is pg_catalog then pg_temp and
-- every type is schema-qualified (no caller object is ever resolved), and it
-- reads nothing but the row and the request settings. Nothing in it can fail
-- on user data: the row goes in as jsonb, the ids are read from typed
-- columns, and the claims and the headers are parsed defensively.
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

revoke execute on function private.write_audit_log() from public, anon, authenticated, service_role;

-- Sign-up: a new auth user gets its coaches row; a changed e-mail follows.
-- SECURITY DEFINER because Supabase Auth (supabase_auth_admin) inserts into
-- auth.users and holds no privilege on public.coaches. Safe: it takes no
-- argument, writes only the row of the user being inserted, fixes its
-- search path (pg_catalog, then pg_temp), names no unqualified type, and
-- lives in `private` with EXECUTE revoked from every API role, so it can not
-- be called through the API (and a trigger function can not be called at all).
create or replace function private.handle_new_user()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    if tg_op = 'INSERT' then
        insert into public.coaches (id, email, full_name)
        values (new.id, new.email, new.raw_user_meta_data ->> 'full_name');
    else
        update public.coaches set email = new.email where id = new.id;
    end if;
    return new;
end;
$$;

revoke execute on function private.handle_new_user() from public, anon, authenticated, service_role;

-- The same path for every other function (all SECURITY INVOKER: a caller's
-- temporary objects could only ever run as that caller, but pg_catalog
-- first is the rule everywhere). The functions that later migrations
-- replace get it there. (noqa: sqlfluff does not parse a list here.)
alter function private.set_updated_at() set search_path = pg_catalog, pg_temp; -- noqa: PRS
alter function private.forbid_tenant_change() set search_path = pg_catalog, pg_temp; -- noqa: PRS
alter function private.participant_price_from_lesson() set search_path = pg_catalog, pg_temp; -- noqa: PRS
alter function private.refuse_audit_log_change() set search_path = pg_catalog, pg_temp; -- noqa: PRS
alter function private.is_billable(public.lesson_status, timestamptz) set search_path = pg_catalog, pg_temp; -- noqa: PRS
alter function private.require_coach_id() set search_path = pg_catalog, pg_temp; -- noqa: PRS
alter function private.require_own_clients(uuid, uuid[]) set search_path = pg_catalog, pg_temp; -- noqa: PRS
alter function private.require_active_lesson_type(uuid, uuid) set search_path = pg_catalog, pg_temp; -- noqa: PRS
alter function private.require_capacity(public.lesson_types, integer) set search_path = pg_catalog, pg_temp; -- noqa: PRS
alter function private.lock_scheduled_lesson(uuid, uuid) set search_path = pg_catalog, pg_temp; -- noqa: PRS
alter function private.lock_payable_charges(uuid, uuid, uuid[]) set search_path = pg_catalog, pg_temp; -- noqa: PRS
alter function public.complete_lesson(uuid, uuid[]) set search_path = pg_catalog, pg_temp; -- noqa: PRS
