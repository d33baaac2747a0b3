-- updated_at is the database's clock, not the client's.
create or replace function private.set_updated_at()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    new.updated_at := pg_catalog.now();
    return new;
end;
$$;

comment on function private.set_updated_at() is
'Trigger: updated_at is the database''s clock.';

revoke all on function private.set_updated_at()
from public, anon, authenticated, service_role;
