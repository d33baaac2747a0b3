-- A charge's price is what was paid, waived or asked at checkout: it changes
-- only while the charge is unpaid and not in a pending checkout (42501,
-- charge_locked).
create or replace function private.guard_charge_price()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    if new.price_cents is distinct from old.price_cents
        and (old.payment_status <> 'unpaid' or old.payment_id is not null) then
        raise exception using
            errcode = '42501',
            message = 'the price of a charge that is paid, waived, refunded or in a checkout can not change',
            hint = 'charge_locked';
    end if;
    return new;
end;
$$;

comment on function private.guard_charge_price() is
'Trigger: a charge''s price changes only while it is unpaid and in no pending checkout.';

revoke all on function private.guard_charge_price()
from public, anon, authenticated, service_role;
