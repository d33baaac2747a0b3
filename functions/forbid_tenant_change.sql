-- A row never moves to another coach, whoever updates it (policies stop
-- coaches; this stops service_role and functions too). The argument names
-- the tenant column: `id` for coaches, `coach_id` elsewhere.
create or replace function private.forbid_tenant_change()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    if pg_catalog.to_jsonb(new) -> tg_argv[0] is distinct from pg_catalog.to_jsonb(old) -> tg_argv[0] then
        raise exception using
            errcode = '42501',
            message = pg_catalog.format('%s.%s can not change', tg_table_name, tg_argv[0]),
            hint = 'tenant_immutable';
    end if;
    return new;
end;
$$;

comment on function private.forbid_tenant_change() is
'Trigger: a row never moves to another coach (its argument names the tenant column).';

revoke all on function private.forbid_tenant_change()
from public, anon, authenticated, service_role;
