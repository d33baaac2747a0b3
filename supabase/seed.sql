-- Development seed: two coaches with clients, lesson types, single, group
-- and recurring lessons, paid and unpaid charges. Times are relative to now
-- so that balances and the dashboard always have something to show.
--
-- Fixed ids and `on conflict do nothing` make a second run harmless.
-- Coach A: Ada (tennis, New York). Coach B: Ben (piano, Berlin).

-- Users, as Supabase Auth would insert them; the sign-up trigger makes the
-- coaches rows.
insert into auth.users (id, email, aud, role, raw_user_meta_data)
values
(
    'a0000000-0000-4000-8000-000000000001', 'ada@example.test',
    'authenticated', 'authenticated', '{"full_name": "Ada Ace"}'
),
(
    'b0000000-0000-4000-8000-000000000001', 'ben@example.test',
    'authenticated', 'authenticated', '{"full_name": "Ben Keys"}'
)
on conflict (id) do nothing;

update public.coaches set business_name = 'Ace Tennis', timezone = 'America/New_York'
where id = 'a0000000-0000-4000-8000-000000000001';
update public.coaches set business_name = 'Keys Piano', timezone = 'Europe/Berlin', currency = 'eur'
where id = 'b0000000-0000-4000-8000-000000000001';

-- Clients: three for Ada (one inactive), two for Ben.
insert into public.clients (id, coach_id, first_name, last_name, email, is_active)
values
(
    'a1000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001',
    'Carla', 'Diaz', 'carla@example.test', true
),
(
    'a1000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000001',
    'Dan', 'Eriksen', 'dan@example.test', true
),
(
    'a1000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000001',
    'Eve', 'Fox', null, false
),
(
    'b1000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000001',
    'Gus', 'Hale', 'gus@example.test', true
),
(
    'b1000000-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-000000000001',
    'Ida', 'Jung', null, true
)
on conflict (id) do nothing;

-- Lesson types: a private and a group lesson for Ada, a private one for Ben.
insert into public.lesson_types (
    id, coach_id, name, duration_minutes, price_cents, max_participants
)
values
(
    'a2000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001',
    'Private lesson', 60, 6000, 1
),
(
    'a2000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000001',
    'Group clinic', 90, 2500, 4
),
(
    'b2000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000001',
    'Piano lesson', 45, 4000, 1
)
on conflict (id) do nothing;

-- Single and group lessons at 10:00 and 12:00 UTC on days around today:
-- two past ones (one completed, one ended but still scheduled), a past
-- group clinic, a cancelled one and a future one.
insert into public.lessons (
    id, coach_id, client_id, lesson_type_id, title, start_time, end_time, status, price_cents,
    cancelled_at, cancellation_reason
)
select
    l.id::uuid,
    l.coach_id::uuid,
    l.client_id::uuid,
    l.lesson_type_id::uuid,
    l.title,
    date_trunc('day', now()) + l.day_offset * interval '1 day'
    + l.hour_utc * interval '1 hour' as start_time,
    date_trunc('day', now()) + l.day_offset * interval '1 day' + l.hour_utc * interval '1 hour'
    + l.minutes * interval '1 minute' as end_time,
    l.status::public.lesson_status,
    l.price_cents,
    case when l.status = 'cancelled' then now() end as cancelled_at,
    case when l.status = 'cancelled' then 'client ill' end as cancellation_reason
from (
    values
    (
        'a3000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001',
        'a1000000-0000-4000-8000-000000000001', 'a2000000-0000-4000-8000-000000000001',
        'Private lesson', -10, 10, 60, 'completed', 6000
    ),
    (
        'a3000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000001',
        'a1000000-0000-4000-8000-000000000002', 'a2000000-0000-4000-8000-000000000001',
        'Private lesson', -3, 10, 60, 'scheduled', 6000
    ),
    (
        'a3000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000001',
        null, 'a2000000-0000-4000-8000-000000000002',
        'Group clinic', -5, 12, 90, 'completed', 2500
    ),
    (
        'a3000000-0000-4000-8000-000000000004', 'a0000000-0000-4000-8000-000000000001',
        'a1000000-0000-4000-8000-000000000002', 'a2000000-0000-4000-8000-000000000001',
        'Private lesson', -1, 10, 60, 'cancelled', 6000
    ),
    (
        'a3000000-0000-4000-8000-000000000005', 'a0000000-0000-4000-8000-000000000001',
        'a1000000-0000-4000-8000-000000000001', 'a2000000-0000-4000-8000-000000000001',
        'Private lesson', 2, 10, 60, 'scheduled', 6000
    ),
    (
        'b3000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000001',
        'b1000000-0000-4000-8000-000000000001', 'b2000000-0000-4000-8000-000000000001',
        'Piano lesson', -7, 15, 45, 'completed', 4000
    ),
    (
        'b3000000-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-000000000001',
        'b1000000-0000-4000-8000-000000000002', 'b2000000-0000-4000-8000-000000000001',
        'Piano lesson', -2, 15, 45, 'no_show', 4000
    )
)
    as l (
        id, coach_id, client_id, lesson_type_id, title, day_offset, hour_utc, minutes, status,
        price_cents
    )
on conflict do nothing;

-- One charge per client of each lesson; the group clinic has Carla and Dan.
insert into public.lesson_participants (
    id, lesson_id, client_id, coach_id, price_cents, payment_status, attended
)
select
    p.id::uuid,
    p.lesson_id::uuid,
    p.client_id::uuid,
    l.coach_id,
    l.price_cents,
    p.payment_status::public.payment_status,
    case when l.status in ('completed', 'no_show') then l.status = 'completed' end as attended
from (
    values
    (
        'a4000000-0000-4000-8000-000000000001', 'a3000000-0000-4000-8000-000000000001',
        'a1000000-0000-4000-8000-000000000001', 'unpaid'
    ),
    (
        'a4000000-0000-4000-8000-000000000002', 'a3000000-0000-4000-8000-000000000002',
        'a1000000-0000-4000-8000-000000000002', 'unpaid'
    ),
    (
        'a4000000-0000-4000-8000-000000000003', 'a3000000-0000-4000-8000-000000000003',
        'a1000000-0000-4000-8000-000000000001', 'unpaid'
    ),
    (
        'a4000000-0000-4000-8000-000000000004', 'a3000000-0000-4000-8000-000000000003',
        'a1000000-0000-4000-8000-000000000002', 'unpaid'
    ),
    (
        'a4000000-0000-4000-8000-000000000005', 'a3000000-0000-4000-8000-000000000004',
        'a1000000-0000-4000-8000-000000000002', 'waived'
    ),
    (
        'a4000000-0000-4000-8000-000000000006', 'a3000000-0000-4000-8000-000000000005',
        'a1000000-0000-4000-8000-000000000001', 'unpaid'
    ),
    (
        'b4000000-0000-4000-8000-000000000001', 'b3000000-0000-4000-8000-000000000001',
        'b1000000-0000-4000-8000-000000000001', 'unpaid'
    ),
    (
        'b4000000-0000-4000-8000-000000000002', 'b3000000-0000-4000-8000-000000000002',
        'b1000000-0000-4000-8000-000000000002', 'unpaid'
    )
) as p (id, lesson_id, client_id, payment_status)
inner join public.lessons as l on p.lesson_id::uuid = l.id
on conflict do nothing;

-- Paid charges: Carla paid her completed private lesson in cash, Gus paid
-- his piano lesson through Stripe.
insert into public.payments (
    id, coach_id, client_id, amount_cents, currency, method, status,
    stripe_checkout_session_id, stripe_payment_intent_id, paid_at
)
values
(
    'a5000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001',
    'a1000000-0000-4000-8000-000000000001', 6000, 'usd', 'cash', 'succeeded',
    null, null, now() - interval '9 days'
),
(
    'b5000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000001',
    'b1000000-0000-4000-8000-000000000001', 4000, 'eur', 'stripe', 'succeeded',
    'cs_seed_1', 'pi_seed_1', now() - interval '6 days'
)
on conflict do nothing;

update public.lesson_participants as p set
    payment_status = 'paid',
    payment_id = pay.id,
    paid_at = pay.paid_at
from public.payments as pay
where
    (p.id, pay.id) in (
        ('a4000000-0000-4000-8000-000000000001', 'a5000000-0000-4000-8000-000000000001'),
        ('b4000000-0000-4000-8000-000000000001', 'b5000000-0000-4000-8000-000000000001')
    )
    and p.payment_status = 'unpaid';

-- A weekly series for Ada: Dan on Tuesdays at 17:00 New York time, from two
-- weeks ago, eight lessons; 17:00 stays 17:00 across daylight saving.
insert into public.recurring_lessons (
    id, coach_id, lesson_type_id, title, frequency, first_start_time, duration_minutes,
    timezone, occurrences
)
values (
    'a6000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001',
    'a2000000-0000-4000-8000-000000000001', 'Tuesday private', 'weekly',
    (
        date_trunc('week', now() at time zone 'America/New_York')
        - interval '13 days' + interval '17 hours'
    ) at time zone 'America/New_York',
    60, 'America/New_York', 8
)
on conflict do nothing;

insert into public.lessons (
    id, coach_id, client_id, lesson_type_id, recurring_lesson_id, is_recurring, title,
    start_time, end_time, price_cents
)
select
    md5('seed-series-lesson-' || n.n)::uuid as id,
    r.coach_id,
    'a1000000-0000-4000-8000-000000000002' as client_id,
    r.lesson_type_id,
    r.id as recurring_lesson_id,
    true as is_recurring,
    r.title,
    ((r.first_start_time at time zone r.timezone) + n.n * interval '7 days')
    at time zone r.timezone as start_time,
    ((r.first_start_time at time zone r.timezone) + n.n * interval '7 days')
    at time zone r.timezone + r.duration_minutes * interval '1 minute' as end_time,
    6000 as price_cents
from public.recurring_lessons as r
cross join generate_series(0, 7) as n (n)
where r.id = 'a6000000-0000-4000-8000-000000000001'
on conflict do nothing;

insert into public.lesson_participants (id, lesson_id, client_id, coach_id, price_cents)
select
    md5('seed-series-charge-' || l.id)::uuid as id,
    l.id as lesson_id,
    l.client_id,
    l.coach_id,
    l.price_cents
from public.lessons as l
where l.recurring_lesson_id = 'a6000000-0000-4000-8000-000000000001'
on conflict do nothing;
