-- Write limits on every path. The Python layer limits lesson writes and
-- payments per user (Upstash, docs/domain.md), but the Supabase client
-- reaches the tables and the RPC functions through PostgREST without it.
-- The database now counts them too, per auth.uid(), with the same numbers:
-- 30 lesson writes per minute, 10 payments per hour (docs/rules.md).
--
-- private.rate_limits holds the limits: an operator changes them with an
-- update, no migration (deleting a policy's row turns that limit off).
-- private.rate_limit_windows holds one row per user and policy, its
-- current window: a new window overwrites the old one in place, so the
-- table never grows past two rows per coach, and a coach's rows go with
-- the coach. Neither table is readable or writable by an API role: only
-- the trigger below, SECURITY DEFINER, writes the counts.
create table private.rate_limits (
    policy text primary key,
    max_writes bigint not null,
    window_seconds bigint not null,
    constraint rate_limits_max_writes_positive check (max_writes >= 1),
    constraint rate_limits_window_range check (window_seconds between 1 and 86400)
);

comment on table private.rate_limits is
'Write limits per signed-in user: at most max_writes per window of window_seconds.';

insert into private.rate_limits (policy, max_writes, window_seconds)
values ('lesson', 30, 60), ('payment', 10, 3600);

create table private.rate_limit_windows (
    user_id uuid not null references public.coaches (id) on delete cascade,
    policy text not null references private.rate_limits (policy) on delete cascade,
    window_start timestamptz not null,
    writes bigint not null,
    primary key (user_id, policy)
);

create index rate_limit_windows_policy_idx on private.rate_limit_windows (policy);

comment on table private.rate_limit_windows is
'Each signed-in user''s current window per write limit and the writes counted in it.';

revoke all on table private.rate_limits, private.rate_limit_windows
from public, anon, authenticated, service_role;
alter table private.rate_limits enable row level security;
alter table private.rate_limit_windows enable row level security;

-- The trigger function as it is now; functions/count_rate_limited_write.sql
-- holds its current text.
create function private.count_rate_limited_write()
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


revoke all on function private.count_rate_limited_write()
from public, anon, authenticated, service_role;

-- A lesson write is any statement that writes lessons (create, update,
-- cancel, complete, a series: one statement each in the RPC functions); a
-- payment is a new payment (record_payment).
create trigger count_lesson_writes
before insert or update or delete on public.lessons
for each statement execute function private.count_rate_limited_write('lesson');

create trigger count_payment_writes
before insert on public.payments
for each statement execute function private.count_rate_limited_write('payment');
