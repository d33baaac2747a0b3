-- A settled charge is never deleted, except with its coach's account.
--
-- A coach (or server code) could DELETE a charge that is paid or refunded,
-- or that a pending Stripe checkout points at (payment_id set while unpaid):
-- the payment's amount then no longer matched its charges, and the client
-- could be added again unpaid and charged twice. Now such a charge (paid,
-- refunded or payment_id set: "settled" below) can not be deleted by anyone,
-- service_role included (42501, charge_locked), directly or by deleting its
-- lesson; unpaid and waived charges without a payment stay deletable (and
-- update_lesson still replaces them).
--
-- Deleting the coach's account (auth.users, or public.coaches by server
-- code) still removes everything of the coach: the foreign key cascades
-- delete the lessons and charges from the RI triggers, so at a trigger depth
-- above 1, and after the coach's row is gone. Both conditions are required:
-- the depth alone would also let through the cascade of a direct
-- `delete from lessons` (and so a charge paid by a concurrent
-- record_payment after the lesson's own check below passed). The cascade
-- runs as the table owner, so row level security hides no coach there; at
-- depth 1 the coaches lookup is never reached.

-- Refuses (42501, charge_locked) deleting a settled charge, unless the
-- coach's account is being deleted.
create function private.guard_settled_charge_delete()
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

revoke execute on function private.guard_settled_charge_delete()
from public, anon, authenticated, service_role;

create trigger guard_settled_charge_delete before delete on public.lesson_participants
for each row execute function private.guard_settled_charge_delete();

-- Refuses (42501, charge_locked) deleting a lesson that has a settled
-- charge, unless the coach's account is being deleted: the cascade would
-- destroy the same history (the charge's own trigger refuses it too; this
-- one names the lesson). Cancelling the lesson keeps paid charges paid.
create function private.guard_settled_lesson_delete()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    if not (
        pg_catalog.pg_trigger_depth() > 1
        and not exists (select from public.coaches as c where c.id = old.coach_id)
    ) and exists (
        select from public.lesson_participants as p
        where p.lesson_id = old.id and p.coach_id = old.coach_id
            and (p.payment_status in ('paid'::public.payment_status, 'refunded'::public.payment_status)
                or p.payment_id is not null)
    ) then
        raise exception using
            errcode = '42501',
            message = 'a lesson with a charge that is paid, refunded or in a checkout can not be deleted',
            hint = 'charge_locked';
    end if;
    return old;
end;
$$;

revoke execute on function private.guard_settled_lesson_delete()
from public, anon, authenticated, service_role;

create trigger guard_settled_lesson_delete before delete on public.lessons
for each row execute function private.guard_settled_lesson_delete();
