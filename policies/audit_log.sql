-- Who can see an audit entry: the coach it concerns, read-only. Entries
-- are written only by the audit trigger (its owner bypasses RLS); there is
-- no insert, update or delete policy, and no grant for them either, so the
-- log is append-only through the API. service_role reads all (BYPASSRLS).
alter table public.audit_log enable row level security;

drop policy if exists audit_log_select_own on public.audit_log;
create policy audit_log_select_own on public.audit_log
for select to authenticated
using (coach_id = (select auth.uid()));
