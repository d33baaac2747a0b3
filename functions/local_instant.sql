-- The instant of a local wall-clock time in a time zone, as RFC 5545 (the
-- iCalendar standard calendar software follows) resolves it:
--   - a time that happens twice (the hour repeated when clocks fall back)
--     is its first instant, the one before the change;
--   - a time that does not happen (the gap when clocks spring forward) is
--     moved forward by the length of the gap.
-- PostgreSQL's `timestamp at time zone` already moves gap times forward but
-- takes the second instant of a repeated time, so the offsets in force a
-- day before and a day after are tried as well and the earliest instant
-- that reads back as the same local time wins.
create or replace function private.local_instant(p_local timestamp, p_zone text)
returns timestamptz
language sql
stable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(pg_catalog.min(c.instant), pg_catalog.min(pg.instant))
    from (select p_local at time zone p_zone as instant) as pg
    cross join lateral (
        values (pg.instant - interval '1 day'), (pg.instant), (pg.instant + interval '1 day')
    ) as probe (at_instant)
    cross join lateral (
        select (
            p_local - ((probe.at_instant at time zone p_zone) - (probe.at_instant at time zone 'UTC'))
        ) at time zone 'UTC' as candidate
    ) as offset_applied
    left join lateral (
        select offset_applied.candidate as instant
        where (offset_applied.candidate at time zone p_zone) = p_local
    ) as c on true
$$;

comment on function private.local_instant(timestamp, text) is
'The RFC 5545 instant of a local time: first instant of a repeated time, gap times moved forward.';

revoke all on function private.local_instant(timestamp, text)
from public, anon, authenticated, service_role;
grant execute on function private.local_instant(timestamp, text)
to authenticated, service_role;
