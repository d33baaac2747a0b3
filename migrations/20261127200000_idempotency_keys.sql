-- Exactly-once writes. A caller that may send a write again (after a
-- timeout, a dropped connection, a restarted worker) gives it an idempotency
-- key. public.idempotent_write stores the key, a fingerprint of the write and
-- the write's result in the same transaction as the write itself, so a retry
-- with the same key and the same write gets the first result back and writes
-- nothing, and the same key with another write is refused (CB014).
--
-- Keys belong to their caller: `owner` is the signed-in user's id, or
-- 'service_role' for server code. A key is remembered for 24 hours; after
-- that the same key starts a new write.
--
-- The table lives in `private`, which PostgREST does not expose: callers
-- reach it only through public.idempotent_write, which runs as the caller
-- (SECURITY INVOKER), so row level security below keeps every user to its
-- own keys.
create table private.idempotency_keys (
    owner text not null,
    key text not null,
    fingerprint text not null,
    result jsonb,
    created_at timestamptz not null default pg_catalog.now(),
    primary key (owner, key),
    constraint idempotency_keys_key_length check (pg_catalog.char_length(key) between 1 and 255)
);

comment on table private.idempotency_keys is
'Idempotency keys of writes: the first result of each key, per caller, kept 24 hours.';

revoke all on table private.idempotency_keys from public, anon, authenticated, service_role;

-- A coach reads, claims and forgets only its own keys (policies/idempotency_keys.sql);
-- anon has no key (its writes are refused anyway).
grant select, insert, update, delete on table private.idempotency_keys
to authenticated, service_role;
