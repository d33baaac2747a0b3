-- Bounded times: every time a coach writes lies in one documented range,
-- [1900-01-01 00:00 UTC, 2200-01-01 00:00 UTC), private.user_time_range().
-- A lesson in year 10000 or 44 BC was accepted by the finite-time checks
-- and then broke every reader of that coach's rows (and every job reading
-- across coaches): Python, JavaScript and most drivers read years 1 to 9999
-- only. With these checks nothing a reader can not read is ever stored
-- (docs/rules.md). 'infinity' and '-infinity' are outside the range too.
-- Added NOT VALID (no scan under an exclusive lock) and validated by
-- 20261127600700_validate_bounded_times.sql; until then every new row and
-- every changed row is checked.
create function private.user_time_range()
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

revoke execute on function private.user_time_range() from public, anon;
grant execute on function private.user_time_range() to authenticated, service_role;

alter table public.lessons
add constraint lessons_start_time_in_range
check (private.user_time_range() @> start_time) not valid,
add constraint lessons_end_time_in_range
check (private.user_time_range() @> end_time) not valid,
add constraint lessons_cancelled_at_in_range
check (cancelled_at is null or private.user_time_range() @> cancelled_at) not valid;

-- until_date is a local date of the series' zone: its midnight in UTC is
-- checked, so the last allowed date is 2199-12-31.
alter table public.recurring_lessons
add constraint recurring_lessons_first_start_time_in_range
check (private.user_time_range() @> first_start_time) not valid,
add constraint recurring_lessons_until_date_in_range
check (
    until_date is null
    or private.user_time_range() @> (until_date::timestamp at time zone 'UTC')
) not valid;
