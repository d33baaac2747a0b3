-- Server code, for every delivered Stripe event: stores it once (insert or
-- ignore on its id) and says whether it was already processed. The payload
-- comes as the JSON text of the event, the same through PostgREST and a
-- direct connection.
create or replace function public.record_stripe_event(
    p_event_id text,
    p_type text,
    p_account_id text default null,
    p_payload text default '{}'
)
returns boolean
language plpgsql
security invoker
set search_path = pg_catalog, pg_temp
as $$
declare
    v_processed boolean;
begin
    if coalesce(pg_catalog.btrim(p_event_id), '') = '' or coalesce(pg_catalog.btrim(p_type), '') = '' then
        raise exception using
            errcode = 'CB002', message = 'p_event_id and p_type are required', hint = 'invalid_argument';
    end if;
    insert into public.stripe_events (id, type, account_id, payload)
    values (p_event_id, p_type, p_account_id, coalesce(p_payload, '{}')::jsonb)
    on conflict (id) do nothing;
    select e.processed_at is not null into v_processed
    from public.stripe_events as e
    where e.id = p_event_id;
    return v_processed;
end;
$$;

comment on function public.record_stripe_event(text, text, text, text) is
'Server code: stores a delivered Stripe event once and says whether it was processed already.';

-- Safe to run only as server code: it trusts the ids it is given (they come
-- from a verified Stripe event or from the checkout code), so EXECUTE is
-- for service_role alone. SECURITY INVOKER: service_role's own privileges.
revoke all on function public.record_stripe_event(text, text, text, text)
from public, anon, authenticated, service_role;
grant execute on function public.record_stripe_event(text, text, text, text)
to service_role;
