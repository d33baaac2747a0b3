-- Bounded money: one maximum for a price (private.max_price_cents(),
-- 100,000,000 cents) and one for a payment (private.max_payment_cents(),
-- 10,000,000,000 cents), checked on every path. With them no sum the views
-- compute can leave bigint (docs/rules.md). Added NOT VALID (no scan under
-- an exclusive lock) and validated by the next migration.
create function private.max_price_cents()
returns bigint
language sql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
    select 100000000::bigint
$$;

create function private.max_payment_cents()
returns bigint
language sql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
    select 10000000000::bigint
$$;

revoke execute on function private.max_price_cents(), private.max_payment_cents()
from public, anon;
grant execute on function private.max_price_cents(), private.max_payment_cents()
to authenticated, service_role;

alter table public.lesson_types
add constraint lesson_types_price_bounded
check (price_cents <= private.max_price_cents()) not valid;

alter table public.lessons
add constraint lessons_price_bounded
check (price_cents <= private.max_price_cents()) not valid;

alter table public.lesson_participants
add constraint lesson_participants_price_bounded
check (price_cents <= private.max_price_cents()) not valid;

alter table public.payments
add constraint payments_amount_bounded
check (amount_cents <= private.max_payment_cents()) not valid,
add constraint payments_credit_bounded
check (credit_cents <= private.max_payment_cents()) not valid;
