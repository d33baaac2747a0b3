-- The billing rule, in one place: a participant's charge is billable when its
-- lesson is completed or a no-show, or is still scheduled and has ended.
-- Cancelled lessons are never billable. Views (client_balances,
-- coach_dashboard) and the payment functions all ask this function.
create or replace function private.is_billable(
    p_status public.lesson_status, p_end_time timestamptz
)
returns boolean
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select p_status in ('completed', 'no_show')
        or (p_status = 'scheduled' and p_end_time < pg_catalog.now())
$$;

comment on function private.is_billable(public.lesson_status, timestamptz) is
'The billing rule: billable when completed, a no-show, or scheduled and over.';

revoke all on function private.is_billable(public.lesson_status, timestamptz)
from public, anon, authenticated, service_role;
grant execute on function private.is_billable(public.lesson_status, timestamptz)
to authenticated, service_role;
