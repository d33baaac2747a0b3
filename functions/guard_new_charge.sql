-- A new charge is unpaid and in no checkout, unless its writer may set the
-- payment columns anyway (service_role, the owner inside the payment
-- functions). Coaches may not name payment_status, payment_id or paid_at
-- on an insert at all (column privileges); this trigger keeps the rule for
-- any role that may insert those columns but not update them (42501).
create or replace function private.guard_new_charge()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    if (new.payment_status <> 'unpaid' or new.payment_id is not null or new.paid_at is not null)
        and not (
            pg_catalog.has_column_privilege('public.lesson_participants', 'payment_status', 'UPDATE')
            and pg_catalog.has_column_privilege('public.lesson_participants', 'payment_id', 'UPDATE')
            and pg_catalog.has_column_privilege('public.lesson_participants', 'paid_at', 'UPDATE')
        ) then
        raise exception using
            errcode = '42501',
            message = 'a new charge is unpaid: payment_status, payment_id and paid_at are set by the payment functions',
            hint = 'payment_columns_protected';
    end if;
    return new;
end;
$$;

comment on function private.guard_new_charge() is
'Trigger: a new charge is unpaid and in no checkout unless its writer may set payment columns.';

revoke all on function private.guard_new_charge()
from public, anon, authenticated, service_role;
