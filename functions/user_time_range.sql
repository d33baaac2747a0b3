-- The times a coach may write: [1900-01-01 00:00 UTC, 2200-01-01 00:00 UTC),
-- finite. Every time column a coach writes (lessons.start_time, end_time
-- and cancelled_at; recurring_lessons.first_start_time and until_date) is
-- checked against it, and the RPC functions refuse a time outside it with
-- CB002 naming the parameter. Every reader (Python's datetime, JavaScript's
-- Date, the drivers) can read every time in it: docs/rules.md.
create or replace function private.user_time_range()
returns tstzrange
language sql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
    select pg_catalog.tstzrange(
        '1900-01-01 00:00:00+00'::timestamptz, '2200-01-01 00:00:00+00'::timestamptz, '[)'
    )
$$;

comment on function private.user_time_range() is
'The range of every time a coach writes: [1900-01-01, 2200-01-01) UTC.';

revoke all on function private.user_time_range()
from public, anon, authenticated, service_role;
grant execute on function private.user_time_range()
to authenticated, service_role;
