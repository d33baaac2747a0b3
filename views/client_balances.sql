-- What a client owes: one row per client, a balance of 0 included.
--
-- A charge (lesson_participants row) is unpaid when it is billable (see
-- private.is_billable: lesson completed or no-show, or still scheduled and
-- ended; never cancelled) and its payment_status is 'unpaid'. The balance
-- is the sum of the unpaid charges' price_cents.
--
-- The balance reads the client's unpaid charges only (the partial index
-- lesson_participants_unpaid_idx), so its cost does not grow with the paid
-- and waived history; the billing rule then runs on those few.
--
-- security_invoker: the caller's row level security applies, so a coach
-- sees its own clients only.
create or replace view public.client_balances with (security_invoker = true) as
select
    c.id as client_id,
    c.coach_id,
    c.first_name,
    c.last_name,
    coalesce(unpaid.unpaid_cents, 0)::bigint as unpaid_cents,
    coalesce(unpaid.unpaid_lessons, 0) as unpaid_lessons,
    unpaid.oldest_unpaid_at,
    seen.last_lesson_at
from public.clients as c
left join lateral (
    select
        sum(p.price_cents) as unpaid_cents,
        count(*) as unpaid_lessons,
        min(l.start_time) as oldest_unpaid_at
    from public.lesson_participants as p
    inner join public.lessons as l on p.lesson_id = l.id and p.coach_id = l.coach_id
    where
        p.client_id = c.id
        and p.coach_id = c.coach_id
        and p.payment_status = 'unpaid'
        and private.is_billable(l.status, l.end_time)
) as unpaid on true
-- The latest lesson that has started and is not cancelled: the charges'
-- copy of their lesson's start time (lesson_participants_client_start_time_idx)
-- is walked backwards from now, so one or two lessons are read.
left join lateral (
    select l.start_time as last_lesson_at
    from public.lesson_participants as p
    inner join public.lessons as l on p.lesson_id = l.id and p.coach_id = l.coach_id
    where
        p.client_id = c.id
        and p.coach_id = c.coach_id
        and p.lesson_start_time <= now()
        and l.status <> 'cancelled'
    order by p.lesson_start_time desc
    limit 1
) as seen on true;

-- Read-only for coaches and server code (explicitly, whatever the default
-- privileges); nothing for anon.
revoke all on public.client_balances from public, anon, authenticated, service_role;
grant select on public.client_balances to authenticated, service_role;
