-- audit_log is append-only for everyone, its owner and superusers included:
-- grants already refuse the API roles, these triggers refuse the rest.
create or replace function private.refuse_audit_log_change()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    raise exception using
        errcode = '42501',
        message = pg_catalog.format('audit_log is append-only: %s refused', tg_op),
        hint = 'audit_log_append_only';
end;
$$;

comment on function private.refuse_audit_log_change() is
'Trigger: audit_log is append-only for everyone.';

revoke all on function private.refuse_audit_log_change()
from public, anon, authenticated, service_role;
