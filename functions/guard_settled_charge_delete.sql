-- A settled charge (paid, refunded, or pointed at by a pending Stripe
-- checkout: payment_id set while unpaid) is never deleted, by anyone,
-- service_role included (42501, charge_locked), directly or by deleting its
-- lesson: the payment's amount would no longer match its charges, and the
-- client could be added again unpaid and charged twice. Unpaid and waived
-- charges without a payment stay deletable (update_lesson replaces them).
--
-- Deleting the coach's account (auth.users, or public.coaches by server
-- code) still removes everything of the coach: the foreign key cascades
-- delete the lessons and charges from the RI triggers, so at a trigger depth
-- above 1, and after the coach's row is gone. Both conditions are required:
-- the depth alone would also let through the cascade of a direct
-- `delete from lessons` (and so a charge paid by a concurrent
-- record_payment after the lesson's own check passed). The cascade runs as
-- the table owner, so row level security hides no coach there; at depth 1
-- the coaches lookup is never reached.
create or replace function private.guard_settled_charge_delete()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    if (old.payment_status in ('paid'::public.payment_status, 'refunded'::public.payment_status)
        or old.payment_id is not null)
        and not (
            pg_catalog.pg_trigger_depth() > 1
            and not exists (select from public.coaches as c where c.id = old.coach_id)
        ) then
        raise exception using
            errcode = '42501',
            message = 'a charge that is paid, refunded or in a checkout can not be deleted',
            hint = 'charge_locked';
    end if;
    return old;
end;
$$;

comment on function private.guard_settled_charge_delete() is
'Trigger: a settled charge is never deleted, except with its coach''s account.';

revoke all on function private.guard_settled_charge_delete()
from public, anon, authenticated, service_role;
