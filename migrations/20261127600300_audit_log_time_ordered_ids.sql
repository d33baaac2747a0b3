-- audit_log ids reveal nothing of other coaches' activity: a shared
-- identity sequence numbered every coach's entries, so the gap between two
-- of a coach's own ids counted everyone else's writes. Ids are now
-- time-ordered UUIDs (version 7: the instant, then random bits), made by
-- the database; existing entries get one for the moment they occurred.
-- Append-only is unchanged: the API roles hold no write privilege and the
-- refuse_audit_log_change triggers stop everyone else (a column type
-- change rewrites the table without firing row triggers).
create function private.time_ordered_uuid(p_at timestamptz)
returns uuid
language plpgsql
volatile
parallel safe
set search_path = pg_catalog, pg_temp
as $$
declare
    v_micros pg_catalog.int8 := pg_catalog.floor(extract(epoch from p_at) * 1000000);
    v_fraction pg_catalog.int4 := ((v_micros % 1000) * 4096 / 1000)::pg_catalog.int4;
    v_bytes pg_catalog.bytea := pg_catalog.uuid_send(pg_catalog.gen_random_uuid());
begin
    v_bytes := pg_catalog.overlay(
        v_bytes, pg_catalog.substr(pg_catalog.int8send(v_micros / 1000), 3, 6), 1, 6
    );
    v_bytes := pg_catalog.set_byte(v_bytes, 6, 112 | (v_fraction >> 8));
    v_bytes := pg_catalog.set_byte(v_bytes, 7, v_fraction & 255);
    return pg_catalog.encode(v_bytes, 'hex')::pg_catalog.uuid;
end;
$$;

revoke execute on function private.time_ordered_uuid(timestamptz)
from public, anon, authenticated, service_role;

-- Only the audit trigger inserts (as the table's owner) and names no id, so
-- no client breaks; the rewrite takes an exclusive lock for as long as the
-- table takes to copy.
-- squawk-ignore ban-alter-identity
alter table public.audit_log alter column id drop identity;
alter table public.audit_log
-- squawk-ignore changing-column-type
alter column id type uuid using private.time_ordered_uuid(occurred_at),
alter column id set default private.time_ordered_uuid(pg_catalog.clock_timestamp());
