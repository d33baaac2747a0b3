-- A time-ordered UUID (RFC 9562 version 7): 48 bits of Unix milliseconds,
-- 12 bits of sub-millisecond fraction, 62 random bits. Ids made this way
-- sort by time and reveal nothing else: unlike a shared sequence, the gap
-- between two of a coach's ids does not count other coaches' rows.
-- PostgreSQL 18 has uuidv7(); this works on every supported major.
create or replace function private.time_ordered_uuid(p_at timestamptz)
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
    -- version 7 in the high nibble, then the fraction; the variant bits of
    -- byte 8 are already those of gen_random_uuid()
    v_bytes := pg_catalog.set_byte(v_bytes, 6, 112 | (v_fraction >> 8));
    v_bytes := pg_catalog.set_byte(v_bytes, 7, v_fraction & 255);
    return pg_catalog.encode(v_bytes, 'hex')::pg_catalog.uuid;
end;
$$;

comment on function private.time_ordered_uuid(timestamptz) is
'A version 7 UUID for the given instant: time-ordered, otherwise random.';

revoke all on function private.time_ordered_uuid(timestamptz)
from public, anon, authenticated, service_role;
