-- The largest payment, in cents of any currency: 100,000,000.00
-- (10,000,000,000 cents, a hundred charges at the largest price). Checked
-- on payments.amount_cents and payments.credit_cents, whoever writes them:
-- record_payment, a Stripe settlement, server code. A larger sum is paid
-- in several payments.
create or replace function private.max_payment_cents()
returns bigint
language sql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
    select 10000000000::bigint
$$;

comment on function private.max_payment_cents() is
'The largest payment, in cents: 10,000,000,000.';

revoke all on function private.max_payment_cents()
from public, anon, authenticated, service_role;
grant execute on function private.max_payment_cents()
to authenticated, service_role;
