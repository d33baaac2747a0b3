-- One write, done at most once per idempotency key (see private.idempotency_keys).
--
-- p_write describes the write as PostgREST would receive it:
--   {"rpc": "<function>", "params": {...}}
--   {"insert": "<table>", "values": {...}}
--   {"update": "<table>", "values": {...}, "filters": [...]}
--   {"delete": "<table>", "filters": [...]}
-- and the answer is what the write returned, as a JSON array of rows (or of
-- the values of a scalar function).
--
-- In one transaction: claim the key (a concurrent request with the same key
-- waits here for the first to finish), run the write, store its result. A
-- key already stored answers with the stored result when its fingerprint
-- (the whole p_write) matches, else CB014; nothing is written again. A write
-- that fails rolls its claim back with it, so the key stays free.
--
-- SECURITY INVOKER: the write runs as the caller (privileges, row level
-- security, triggers), and the key is stored as the caller, whose policy
-- lets it see only its own keys. The search path is fixed.
create or replace function public.idempotent_write(p_key text, p_write jsonb)
returns jsonb
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_owner text := case when current_user = 'service_role' then 'service_role'
        else (select auth.uid())::text end;
    v_fingerprint text := md5(coalesce(p_write, 'null'::jsonb)::text);
    v_stored private.idempotency_keys;
    v_result jsonb;
begin
    if v_owner is null then
        raise exception using
            errcode = 'CB012',
            message = 'an idempotent write needs a signed-in user',
            hint = 'not_authenticated';
    end if;
    if p_key is null or char_length(p_key) not between 1 and 255 then
        raise exception using
            errcode = 'CB002',
            message = 'an idempotency key has 1 to 255 characters',
            hint = 'invalid_argument';
    end if;

    -- A key older than the retention period is forgotten, then claimed anew.
    delete from private.idempotency_keys as k
    where k.owner = v_owner and k.key = p_key and k.created_at < now() - interval '24 hours';

    insert into private.idempotency_keys (owner, key, fingerprint)
    values (v_owner, p_key, v_fingerprint)
    on conflict (owner, key) do nothing;

    if not found then
        select * into v_stored from private.idempotency_keys as k
        where k.owner = v_owner and k.key = p_key;
        if v_stored.fingerprint is distinct from v_fingerprint then
            raise exception using
                errcode = 'CB014',
                message = 'this idempotency key was used for a different request',
                hint = 'idempotency_mismatch';
        end if;
        return v_stored.result;
    end if;

    v_result := case
        when p_write ? 'rpc' then private.call_function(p_write ->> 'rpc', p_write -> 'params')
        when p_write ? 'insert' then
            private.write_rows('insert', p_write ->> 'insert', p_write -> 'values', null)
        when p_write ? 'update' then private.write_rows(
            'update', p_write ->> 'update', p_write -> 'values', p_write -> 'filters'
        )
        when p_write ? 'delete' then
            private.write_rows('delete', p_write ->> 'delete', null, p_write -> 'filters')
    end;
    if v_result is null then
        raise exception using
            errcode = 'CB002',
            message = 'p_write names no rpc, insert, update or delete',
            hint = 'invalid_argument';
    end if;

    update private.idempotency_keys as k set result = v_result
    where k.owner = v_owner and k.key = p_key;
    return v_result;
end;
$$;

comment on function public.idempotent_write(text, jsonb) is
'Run one write at most once per idempotency key of the caller; a retry gets the first result.';

revoke all on function public.idempotent_write(text, jsonb)
from public, anon, authenticated, service_role;
grant execute on function public.idempotent_write(text, jsonb) to authenticated, service_role;
