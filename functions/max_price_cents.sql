-- The largest price, in cents of any currency: 1,000,000.00 (100,000,000
-- cents). Every price column (lesson_types, lessons, lesson_participants)
-- is checked against it, and the RPC functions refuse a larger
-- p_price_cents (CB002). Bounded prices and payments keep every sum of the
-- views far inside bigint: docs/rules.md shows the arithmetic.
create or replace function private.max_price_cents()
returns bigint
language sql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
    select 100000000::bigint
$$;

comment on function private.max_price_cents() is
'The largest price of a lesson or a charge, in cents: 100,000,000.';

revoke all on function private.max_price_cents()
from public, anon, authenticated, service_role;
grant execute on function private.max_price_cents()
to authenticated, service_role;
