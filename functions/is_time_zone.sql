-- A time zone is valid when PostgreSQL lists it in pg_timezone_names: an
-- IANA name of its time zone database ('Europe/Paris', 'UTC'). POSIX specs
-- ('UTC-3', 'EST5', 'ABC-3'), which PostgreSQL also accepts in AT TIME ZONE
-- but which are fixed offsets that ignore daylight saving, are refused.
-- pg_timezone_names is a view over a directory scan (about 600 names, some
-- 10 ms): fine for the rare writes that check a time zone (a coach's
-- profile, a new series); the default 'UTC' is answered without the scan.
-- Used by check constraints, so it must not fail: it only compares names.
create or replace function private.is_time_zone(p_name text)
returns boolean
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select p_name is not null and (
        p_name = 'UTC'
        or exists (select from pg_catalog.pg_timezone_names as z where z.name = p_name)
    )
$$;

comment on function private.is_time_zone(text) is
'True for an IANA time zone name that PostgreSQL knows; POSIX offsets are refused.';

revoke all on function private.is_time_zone(text)
from public, anon, authenticated, service_role;
grant execute on function private.is_time_zone(text)
to authenticated, service_role;
