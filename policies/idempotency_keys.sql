-- Who can see an idempotency key: the user it belongs to. The table is in
-- `private` (not exposed by PostgREST) and reached only through
-- public.idempotent_write, which runs as the caller; this policy keeps one
-- user from reading or claiming another's keys even so. service_role
-- bypasses row level security and uses the owner 'service_role'.
alter table private.idempotency_keys enable row level security;

drop policy if exists idempotency_keys_own on private.idempotency_keys;
create policy idempotency_keys_own on private.idempotency_keys
for all to authenticated
using (owner = (select auth.uid())::text)
with check (owner = (select auth.uid())::text);
