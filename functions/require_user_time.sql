-- A time parameter of an RPC function is given and inside
-- private.user_time_range(), else CB002 naming the parameter, before the
-- check constraints (23514) would refuse the row and before any arithmetic
-- on the time could overflow.
create or replace function private.require_user_time(p_value timestamptz, p_what text)
returns void
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
    if p_value is null or not private.user_time_range() @> p_value then
        raise exception using
            errcode = 'CB002',
            message = pg_catalog.format(
                '%s must be a time from 1900-01-01 00:00 to before 2200-01-01 00:00 UTC', p_what
            ),
            column = p_what,
            hint = 'invalid_argument';
    end if;
end;
$$;

comment on function private.require_user_time(timestamptz, text) is
'Refuses a missing time, or one outside 1900-01-01 to 2200-01-01 UTC, naming the parameter.';

revoke all on function private.require_user_time(timestamptz, text)
from public, anon, authenticated, service_role;
grant execute on function private.require_user_time(timestamptz, text)
to authenticated, service_role;
