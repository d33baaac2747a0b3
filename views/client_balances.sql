-- What a client owes: one row per client, a balance of 0 included.
--
-- A charge (lesson_participants row) is unpaid when it is billable (see
-- private.is_billable: lesson completed or no-show, or still scheduled and
-- ended; never cancelled) and its payment_status is 'unpaid'. The balance
-- is the sum of the unpaid charges' price_cents.
--
-- security_invoker: the caller's row level security applies, so a coach
-- sees its own clients only.
create or replace view public.client_balances with (security_invoker = true) as
select
    c.id as client_id,
    c.coach_id,
    c.first_name,
    c.last_name,
    coalesce(sum(ch.price_cents) filter (where ch.is_unpaid), 0)::bigint as unpaid_cents,
    count(*) filter (where ch.is_unpaid) as unpaid_lessons,
    min(ch.start_time) filter (where ch.is_unpaid) as oldest_unpaid_at,
    max(ch.start_time) filter (
        where ch.status <> 'cancelled' and ch.start_time <= now()
    ) as last_lesson_at
from public.clients as c
left join lateral (
    select
        p.price_cents,
        l.start_time,
        l.status,
        p.payment_status = 'unpaid' and private.is_billable(l.status, l.end_time) as is_unpaid
    from public.lesson_participants as p
    inner join public.lessons as l on p.lesson_id = l.id and p.coach_id = l.coach_id
    where p.client_id = c.id and p.coach_id = c.coach_id
) as ch on true
group by c.id, c.coach_id, c.first_name, c.last_name;

-- Read-only for coaches and server code (explicitly, whatever the default
-- privileges); nothing for anon.
revoke all on public.client_balances from public, anon, authenticated, service_role;
grant select on public.client_balances to authenticated, service_role;
