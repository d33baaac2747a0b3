-- Server code, on checkout.session.async_payment_failed and
-- checkout.session.expired: a pending payment fails and its unpaid charges
-- leave it, payable again. It locks the payment, then the event, and marks
-- the event processed in the same transaction, so concurrent deliveries take
-- turns. Order never moves a payment backwards: a succeeded, refunded or
-- failed payment stays as it is.
create or replace function public.fail_stripe_checkout(p_event_id text, p_checkout_session_id text)
returns public.payments
language plpgsql
security invoker
set search_path = pg_catalog, pg_temp
as $$
declare
    v_payment public.payments;
    v_processed boolean;
begin
    select * into v_payment from public.payments as pay
    where pay.stripe_checkout_session_id = p_checkout_session_id
    for update;
    if not found then
        raise exception using errcode = 'CB001', message = 'checkout payment not found', hint = 'not_found';
    end if;

    select e.processed_at is not null into v_processed
    from public.stripe_events as e
    where e.id = p_event_id
    for update;
    if coalesce(v_processed, false) then
        return v_payment;
    end if;

    if v_payment.status = 'pending' then
        update public.lesson_participants as p set payment_id = null
        where p.payment_id = v_payment.id and p.coach_id = v_payment.coach_id
            and p.payment_status = 'unpaid';
        update public.payments as pay set status = 'failed'
        where pay.id = v_payment.id
        returning * into v_payment;
    end if;

    update public.stripe_events as e set
        processed_at = pg_catalog.now(),
        outcome = case when v_payment.status = 'failed' then 'failed' else 'ignored' end
    where e.id = p_event_id;
    return v_payment;
end;
$$;

comment on function public.fail_stripe_checkout(text, text) is
'Server code: a checkout that expired or whose payment failed; its charges are payable again.';

-- Safe to run only as server code: it trusts the ids it is given (they come
-- from a verified Stripe event or from the checkout code), so EXECUTE is
-- for service_role alone. SECURITY INVOKER: service_role's own privileges.
revoke all on function public.fail_stripe_checkout(text, text)
from public, anon, authenticated, service_role;
grant execute on function public.fail_stripe_checkout(text, text)
to service_role;
