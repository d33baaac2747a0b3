-- A coach's whole dashboard in one row, so one query answers it whatever
-- the number of clients. What is owed is read from the coach's unpaid
-- charges only (the partial index lesson_participants_unpaid_idx) and
-- judged by private.is_billable, the same rule as client_balances: the
-- paid and waived history is never read.
--
-- security_invoker: the caller's row level security applies, so a coach
-- sees its own row only (service_role sees every coach's).
create or replace view public.coach_dashboard with (security_invoker = true) as
select
    co.id as coach_id,
    coalesce(cl.active_clients, 0) as active_clients,
    coalesce(bal.outstanding_cents, 0)::bigint as outstanding_cents,
    coalesce(bal.clients_with_balance, 0) as clients_with_balance,
    coalesce(upcoming.lessons_next_7_days, 0) as lessons_next_7_days,
    coalesce(revenue.revenue_30_days_cents, 0)::bigint as revenue_30_days_cents
from public.coaches as co
left join lateral (
    select count(*) as active_clients
    from public.clients as c
    where c.coach_id = co.id and c.is_active
) as cl on true
left join lateral (
    select
        sum(p.price_cents) as outstanding_cents,
        count(distinct p.client_id) filter (where p.price_cents > 0) as clients_with_balance
    from public.lesson_participants as p
    inner join public.lessons as l on p.lesson_id = l.id and p.coach_id = l.coach_id
    where
        p.coach_id = co.id
        and p.payment_status = 'unpaid'
        and private.is_billable(l.status, l.end_time)
) as bal on true
left join lateral (
    select count(*) as lessons_next_7_days
    from public.lessons as l
    where
        l.coach_id = co.id
        and l.status = 'scheduled'
        and l.start_time >= now()
        and l.start_time < now() + interval '7 days'
) as upcoming on true
-- Revenue is money received: succeeded payments, credit included.
left join lateral (
    select sum(pay.amount_cents) as revenue_30_days_cents
    from public.payments as pay
    where
        pay.coach_id = co.id
        and pay.status = 'succeeded'
        and pay.paid_at >= now() - interval '30 days'
) as revenue on true;

-- Read-only for coaches and server code (explicitly, whatever the default
-- privileges); nothing for anon.
revoke all on public.coach_dashboard from public, anon, authenticated, service_role;
grant select on public.coach_dashboard to authenticated, service_role;
