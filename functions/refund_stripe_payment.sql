-- Server code, on charge.refunded: Stripe's amount_refunded is cumulative,
-- so the largest one seen is the truth whatever the order of delivery. A
-- refund of the whole amount turns the payment refunded and its paid charges
-- refunded (no longer owed: the balance does not grow back); a partial one
-- keeps it succeeded and records refunded_cents. Locks the payment, then the
-- event, and marks the event processed in the same transaction.
create or replace function public.refund_stripe_payment(
    p_event_id text,
    p_payment_intent_id text,
    p_amount_refunded bigint
)
returns public.payments
language plpgsql
security invoker
set search_path = pg_catalog, pg_temp
as $$
declare
    v_payment public.payments;
    v_processed boolean;
    v_refunded bigint;
begin
    if p_amount_refunded is null or p_amount_refunded < 0 then
        raise exception using
            errcode = 'CB002', message = 'p_amount_refunded must be at least 0', hint = 'invalid_argument';
    end if;
    select * into v_payment from public.payments as pay
    where pay.stripe_payment_intent_id = p_payment_intent_id
    for update;
    if not found then
        raise exception using errcode = 'CB001', message = 'payment not found', hint = 'not_found';
    end if;

    select e.processed_at is not null into v_processed
    from public.stripe_events as e
    where e.id = p_event_id
    for update;
    if coalesce(v_processed, false) then
        return v_payment;
    end if;

    if v_payment.status in ('succeeded', 'refunded') then
        v_refunded := least(
            greatest(v_payment.refunded_cents, p_amount_refunded), v_payment.amount_cents
        );
        if v_refunded >= v_payment.amount_cents then
            update public.lesson_participants as p set payment_status = 'refunded'
            where p.payment_id = v_payment.id and p.coach_id = v_payment.coach_id
                and p.payment_status = 'paid';
        end if;
        update public.payments as pay set
            refunded_cents = v_refunded,
            status = case when v_refunded >= v_payment.amount_cents then 'refunded' else pay.status end
        where pay.id = v_payment.id
        returning * into v_payment;
    end if;

    update public.stripe_events as e set
        processed_at = pg_catalog.now(),
        outcome = case when v_payment.refunded_cents > 0 then 'refunded' else 'ignored' end
    where e.id = p_event_id;
    return v_payment;
end;
$$;

comment on function public.refund_stripe_payment(text, text, bigint) is
'Server code: records a Stripe refund, full or partial.';

-- Safe to run only as server code: it trusts the ids it is given (they come
-- from a verified Stripe event or from the checkout code), so EXECUTE is
-- for service_role alone. SECURITY INVOKER: service_role's own privileges.
revoke all on function public.refund_stripe_payment(text, text, bigint)
from public, anon, authenticated, service_role;
grant execute on function public.refund_stripe_payment(text, text, bigint)
to service_role;
