-- Server code: marks an event processed with what came of it (settled,
-- ignored, unmatched, payment_mismatch…); the first outcome recorded stays.
create or replace function public.finish_stripe_event(p_event_id text, p_outcome text)
returns boolean
language plpgsql
security invoker
set search_path = pg_catalog, pg_temp
as $$
begin
    update public.stripe_events as e set
        processed_at = coalesce(e.processed_at, pg_catalog.now()),
        outcome = coalesce(e.outcome, p_outcome)
    where e.id = p_event_id and (e.processed_at is null or e.outcome is null);
    return found;
end;
$$;

comment on function public.finish_stripe_event(text, text) is
'Server code: marks a Stripe event processed with its outcome.';

-- Safe to run only as server code: it trusts the ids it is given (they come
-- from a verified Stripe event or from the checkout code), so EXECUTE is
-- for service_role alone. SECURITY INVOKER: service_role's own privileges.
revoke all on function public.finish_stripe_event(text, text)
from public, anon, authenticated, service_role;
grant execute on function public.finish_stripe_event(text, text)
to service_role;
