-- A cancelled lesson is never billable: its unpaid charges become waived,
-- however the lesson is cancelled (cancel_lesson, cancel_recurring_lessons,
-- a direct update); paid ones stay paid. SECURITY DEFINER because coaches
-- hold no UPDATE privilege on payment_status. Safe: a trigger function can
-- not be called directly and EXECUTE is revoked from every API role; it
-- touches only the charges of the lesson whose row fired it (same id and
-- coach_id, which RLS already let the caller update), and only from unpaid
-- to waived; fixed search path (pg_catalog, pg_temp), no unqualified type.
create or replace function private.waive_charges_of_cancelled_lesson()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    update public.lesson_participants as p set payment_status = 'waived'::public.payment_status
    where p.lesson_id = new.id and p.coach_id = new.coach_id
        and p.payment_status = 'unpaid'::public.payment_status;
    return null;
end;
$$;

comment on function private.waive_charges_of_cancelled_lesson() is
'Trigger: a cancelled lesson''s unpaid charges become waived; paid ones stay paid.';

revoke all on function private.waive_charges_of_cancelled_lesson()
from public, anon, authenticated, service_role;
