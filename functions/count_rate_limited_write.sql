-- Counts a signed-in user's write against a limit of private.rate_limits
-- (the trigger's argument: 'lesson' or 'payment') and refuses it past the
-- limit with SQLSTATE PT429, which PostgREST answers as HTTP 429. Fires
-- once per statement, before it runs: one RPC call or one direct write
-- (however many rows) is one write. Only the role `authenticated` is
-- limited: server code (service_role), migrations and the table owner are
-- not.
--
-- The window is fixed and starts at the user's first write after the last
-- window ended; it holds at most `max_writes` writes, the next one is
-- refused until the window ends (`retry_after`, whole seconds, in the
-- DETAIL with the limit). The count is part of the write's transaction: a
-- write that fails, the refused one included, takes its count back with
-- it, and a replay of public.idempotent_write runs no write and counts
-- nothing.
--
-- SECURITY DEFINER because no API role holds any privilege on the counter
-- table (so no user can read, reset or inflate a count). Safe:
--   - a trigger function can not be called directly, and EXECUTE is
--     revoked from every API role;
--   - it writes one row only, the caller's own: the user is auth.uid(),
--     never a value of the write, and the policy is the trigger's argument,
--     fixed when the trigger was created;
--   - it reads nothing else but the limit of that policy, and answers only
--     with the caller's own count;
--   - fixed search path (pg_catalog, pg_temp) and schema-qualified names,
--     so no object of the caller (a pg_temp table or type) is resolved.
create or replace function private.count_rate_limited_write()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_policy pg_catalog.text := tg_argv[0];
    v_user pg_catalog.uuid;
    v_limit private.rate_limits;
    v_length pg_catalog.interval;
    v_window private.rate_limit_windows;
    v_retry_after pg_catalog.int8;
begin
    if pg_catalog.current_setting('role') <> 'authenticated' then
        return null;
    end if;
    v_user := auth.uid();
    select * into v_limit from private.rate_limits as l where l.policy = v_policy;
    -- no user: the write fails on its own (no coach); no limit: the operator removed it
    if v_user is null or v_limit.policy is null then
        return null;
    end if;
    v_length := pg_catalog.make_interval(secs => v_limit.window_seconds);

    insert into private.rate_limit_windows as w (user_id, policy, window_start, writes)
    values (v_user, v_policy, pg_catalog.now(), 1)
    on conflict (user_id, policy) do update set
        window_start = case
            when w.window_start + v_length > pg_catalog.now() then w.window_start
            else pg_catalog.now()
        end,
        writes = case
            when w.window_start + v_length > pg_catalog.now() then w.writes + 1
            else 1
        end
    returning * into v_window;

    if v_window.writes > v_limit.max_writes then
        v_retry_after := pg_catalog.ceil(
            pg_catalog.date_part('epoch', v_window.window_start + v_length - pg_catalog.now())
        );
        raise exception using
            errcode = 'PT429',
            message = pg_catalog.format(
                'too many %s writes: at most %s in %s seconds; retry in %s seconds',
                v_policy, v_limit.max_writes, v_limit.window_seconds, v_retry_after
            ),
            detail = pg_catalog.json_build_object(
                'policy', v_policy,
                'limit', v_limit.max_writes,
                'window_seconds', v_limit.window_seconds,
                'retry_after', v_retry_after
            )::pg_catalog.text,
            hint = 'rate_limited';
    end if;
    return null;
end;
$$;

comment on function private.count_rate_limited_write() is
'Trigger: counts a signed-in user''s lesson or payment write; past the limit, PT429.';

revoke all on function private.count_rate_limited_write()
from public, anon, authenticated, service_role;
