-- Records a requested payment. SECURITY DEFINER because coaches hold no
-- INSERT privilege on payments and no UPDATE privilege on the payment
-- columns of lesson_participants. Safe:
--   - a trigger function can not be called directly, and EXECUTE is revoked
--     from every API role;
--   - every column of the request is untrusted input: the coach is
--     auth.uid() (CB012 without one), never a column; the client and every
--     charge are checked against that coach by private.lock_payable_charges
--     (explicit coach_id filters, since the owner bypasses RLS): the
--     client's (CB001, CB007), unpaid and billable (CB006, CB007), locked in
--     id order;
--   - the amount is the sum of those charges, computed here; the status is
--     succeeded, the currency the coach's, no Stripe id and no credit: the
--     caller chooses only the method and the note; the payment's id is made
--     here (record_payment reads it from the charges it marks paid);
--   - fixed search path (pg_catalog, pg_temp) and schema-qualified types, so
--     no object of the caller (a pg_temp type) is ever resolved.
create or replace function private.record_requested_payment()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_coach_id pg_catalog.uuid := private.require_coach_id();
    v_payment_id pg_catalog.uuid := pg_catalog.gen_random_uuid();
    v_amount pg_catalog.int8;
    v_paid_at pg_catalog.timestamptz := pg_catalog.now();
begin
    v_amount := private.lock_payable_charges(v_coach_id, new.client_id, new.participant_ids);

    insert into public.payments (
        id, coach_id, client_id, amount_cents, currency, method, status, note, paid_at
    )
    select
        v_payment_id, v_coach_id, new.client_id, v_amount, c.currency, new.method,
        'succeeded'::public.payment_state, new.note, v_paid_at
    from public.coaches as c
    where c.id = v_coach_id;

    update public.lesson_participants as p set
        payment_status = 'paid'::public.payment_status,
        payment_id = v_payment_id,
        paid_at = v_paid_at
    where p.id = any(new.participant_ids) and p.coach_id = v_coach_id
        and p.client_id = new.client_id;

    return null;
end;
$$;

comment on function private.record_requested_payment() is
'Trigger: turns a coach''s payment request into a succeeded payment for the sum of its charges.';

revoke all on function private.record_requested_payment()
from public, anon, authenticated, service_role;
