"""Benchmark data at any scale, set-based: one batch of coaches is a handful of statements.

Every row is derived from the coach's number and the day by `md5`, so a seed
is reproducible and a second run continues where the first stopped (coach
numbers already present are skipped). Per coach: about 50 clients (2% of
coaches have 150), 3 to 5 lesson types, about 300 lessons a year (a weekly
recurring series among them, 15% group lessons of 2 to 4 clients) over the
history asked for plus three months ahead, cancellations and no-shows, charges
paid (grouped in monthly payments), unpaid and waived.

A batch of coaches is one transaction; two connections load batches at once
(the work is the server's, so this uses both of a small machine's cores).
Row triggers would make a bulk load row by row, so a batch runs with
`session_replication_role = replica` (superuser only) and does their
bookkeeping itself, set-based: the coaches row of each user, the participant's
price and its copy of the lesson's start time, the waiving of a cancelled
lesson's charges, one audit-log entry per row written. Coaches and series are in
UTC: the time-zone check constraint
reads the whole zone catalog for any other name (tens of milliseconds a row).
Check, unique and exclusion constraints still apply to every row;
what the skipped triggers would have checked (foreign keys, capacity, the
balance invariant) is verified after each batch, and a failed check rolls the
batch back.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from backend.bench import BenchError

SEED_DOMAIN = "seed.example.test"
BATCH_COACHES = 250
# Connections loading batches at once (the load is CPU-bound in the server).
LOADERS = 2
FUTURE_DAYS = 92


class SeedError(BenchError):
    """The seed can not run here, or a batch broke a rule (the batch was rolled back)."""


@dataclass(frozen=True)
class SeedResult:
    coaches: int
    added: int
    seconds: float
    rows: dict[str, int]


def coach_id_sql(number: str) -> str:
    """The SQL expression of a seeded coach's id, from its number."""
    return f"md5('seed-coach:' || ({number})::text)::uuid"


def clients_of(number: int) -> int:
    """How many clients the seed gives coach `number`: `n_clients` below, in Python."""
    return 150 if number % 50 == 0 else 35 + (number * 7919) % 31


# The coaches of a batch, with what the generator needs to know of each
# (`n_clients` is `clients_of`, which the benchmark reads).
_BATCH_COACHES = f"""
create temp table seed_coach on commit drop as
select
    n,
    {coach_id_sql("n")} as coach_id,
    case when n % 50 = 0 then 150 else 35 + (n * 7919) % 31 end as n_clients,
    3 + n % 3 as n_types
from unnest(%(numbers)s::int[]) as n;

analyze seed_coach
"""

# Users as Supabase Auth inserts them; the coaches rows as the sign-up trigger makes them.
_USERS_AND_COACHES = """
insert into auth.users (id, email, aud, role, raw_user_meta_data, created_at)
select
    coach_id, 'coach' || n || '@{domain}', 'authenticated', 'authenticated',
    jsonb_build_object('full_name', 'Coach ' || n), %(start)s
from seed_coach;

with inserted as (
    insert into public.coaches (id, email, full_name, business_name, timezone, created_at)
    select
        coach_id, 'coach' || n || '@{domain}', 'Coach ' || n, 'Studio ' || n,
        'UTC',
        %(start)s
    from seed_coach
    returning *
)
insert into public.audit_log (
    occurred_at, coach_id, actor_role, action, table_name, record_id, new_data
)
select created_at, id, session_user, 'INSERT', 'coaches', id::text, to_jsonb(inserted)
from inserted;

with inserted as (
    insert into public.clients (
        id, coach_id, first_name, last_name, email, is_active, created_at
    )
    select
        md5('seed-client:' || s.n || ':' || i)::uuid,
        s.coach_id,
        (array[
            'Ada', 'Ben', 'Carla', 'Dan', 'Eve', 'Finn', 'Gus', 'Hana', 'Ida', 'Jon',
            'Kai', 'Lena', 'Mia', 'Noah', 'Olga', 'Paul', 'Rosa', 'Sam', 'Tara', 'Uma'
        ])[1 + (s.n + i * 7) % 20],
        (array[
            'Adams', 'Berg', 'Cole', 'Diaz', 'Eriksen', 'Fox', 'Gray', 'Hale', 'Ito', 'Jung',
            'Kent', 'Lund', 'Moss', 'Nash', 'Ortiz', 'Park', 'Quinn', 'Ross', 'Stone', 'Todd'
        ])[1 + (s.n * 3 + i) % 20],
        'client' || i || '.' || s.n || '@{domain}',
        i % 10 <> 0,
        %(start)s
    from seed_coach as s, generate_series(1, s.n_clients) as i
    returning *
)
insert into public.audit_log (
    occurred_at, coach_id, actor_role, action, table_name, record_id, new_data
)
select created_at, coach_id, session_user, 'INSERT', 'clients', id::text, to_jsonb(inserted)
from inserted;

with inserted as (
    insert into public.lesson_types (
        id, coach_id, name, duration_minutes, price_cents, max_participants, created_at
    )
    select
        md5('seed-type:' || s.n || ':' || t.number)::uuid, s.coach_id, t.name,
        t.duration_minutes, t.price_cents, t.max_participants, %(start)s
    from seed_coach as s
    inner join (
        values
        (1, 'Group lesson', 90, 3000, 4),
        (2, 'Private lesson', 60, 6000, 1),
        (3, 'Short lesson', 30, 3500, 1),
        (4, 'Assessment', 45, 5000, 1),
        (5, 'Intensive', 90, 9000, 1)
    ) as t (number, name, duration_minutes, price_cents, max_participants)
        on t.number <= s.n_types
    returning *
)
insert into public.audit_log (
    occurred_at, coach_id, actor_role, action, table_name, record_id, new_data
)
select created_at, coach_id, session_user, 'INSERT', 'lesson_types', id::text, to_jsonb(inserted)
from inserted;
""".replace("{domain}", SEED_DOMAIN)

# One lesson a day at most (so never an overlap): every 7th day the coach's
# weekly series, else a lesson on about 79% of days. Bytes of md5(coach, day)
# decide the rest.
_LESSONS = """
create temp table seed_lesson on commit drop as
with days as (
    select
        s.n, s.coach_id, s.n_clients, s.n_types, d.day::date as day,
        (d.day::date - date '2000-01-01') as day_number,
        decode(md5(s.n || ':' || d.day::date), 'hex') as h
    from seed_coach as s
    cross join
        generate_series(%(from_day)s::date, %(to_day)s::date - 1, interval '1 day') as d (day)
),
picked as (
    select
        *,
        day_number % 7 = n % 7 as recurring,
        case
            when day_number % 7 = n % 7 then 2
            when get_byte(h, 1) < 38 then 1
            else 2 + get_byte(h, 1) % (n_types - 1)
        end as type_number
    from days
    where day_number % 7 = n % 7 or get_byte(h, 0) < 202
),
timed as (
    select
        *,
        day + make_interval(
            hours => 8 + case when recurring then n % 11 else get_byte(h, 2) % 11 end
        ) as start_time,
        (array[90, 60, 30, 45, 90])[type_number] as minutes,
        (array[3000, 6000, 3500, 5000, 9000])[type_number] as price_cents
    from picked
)
select
    md5('seed-lesson:' || n || ':' || day_number)::uuid as id,
    n, coach_id, n_clients, h, recurring,
    md5('seed-type:' || n || ':' || type_number)::uuid as lesson_type_id,
    (array['Group lesson', 'Private lesson', 'Short lesson', 'Assessment', 'Intensive'])[
        type_number
    ] as title,
    case when recurring
        then md5('seed-series:' || n || ':' || day_number / 364 || ':' || %(from_day)s::date)::uuid
    end as recurring_lesson_id,
    start_time,
    start_time + make_interval(mins => minutes) as end_time,
    price_cents,
    case
        when recurring then 1 + (n + day_number / 364) % n_clients
        else 1 + (get_byte(h, 3) * 256 + get_byte(h, 4)) % n_clients
    end as first_client,
    case when type_number = 1 then 2 + get_byte(h, 5) % 3 else 1 end as participants,
    case
        when start_time + make_interval(mins => minutes) >= %(now)s
            then case when get_byte(h, 6) < 13 then 'cancelled' else 'scheduled' end
        when get_byte(h, 6) < 18 then 'cancelled'
        when get_byte(h, 6) < 31 then 'no_show'
        when start_time > %(now)s - interval '14 days' and get_byte(h, 7) < 77 then 'scheduled'
        else 'completed'
    end::public.lesson_status as status
from timed;

analyze seed_lesson;

with inserted as (
    insert into public.recurring_lessons (
        id, coach_id, lesson_type_id, title, frequency, first_start_time, duration_minutes,
        timezone, until_date, created_at
    )
    select
        recurring_lesson_id, coach_id, min(lesson_type_id::text)::uuid, 'Weekly lesson',
        'weekly', min(start_time), 60, 'UTC', max(start_time)::date,
        least(min(start_time) - interval '7 days', %(now)s)
    from seed_lesson
    where recurring
    group by recurring_lesson_id, coach_id
    returning *
)
insert into public.audit_log (
    occurred_at, coach_id, actor_role, action, table_name, record_id, new_data
)
select
    created_at, coach_id, session_user, 'INSERT', 'recurring_lessons', id::text, to_jsonb(inserted)
from inserted;

with inserted as (
    insert into public.lessons (
        id, coach_id, client_id, lesson_type_id, recurring_lesson_id, is_recurring, title,
        start_time, end_time, status, price_cents, cancelled_at, cancellation_reason, created_at
    )
    select
        l.id, l.coach_id,
        case when l.participants = 1
            then md5('seed-client:' || l.n || ':' || l.first_client)::uuid
        end,
        l.lesson_type_id, l.recurring_lesson_id, l.recurring, l.title,
        l.start_time, l.end_time, l.status, l.price_cents,
        case when l.status = 'cancelled' then least(l.start_time - interval '1 day', %(now)s) end,
        case when l.status = 'cancelled' then 'client unavailable' end,
        least(l.start_time - interval '7 days', %(now)s)
    from seed_lesson as l
    -- In index order: the exclusion constraint's GiST index grows coach by coach.
    order by l.coach_id, l.start_time
    returning *
)
insert into public.audit_log (
    occurred_at, coach_id, actor_role, action, table_name, record_id, new_data
)
select created_at, coach_id, session_user, 'INSERT', 'lessons', id::text, to_jsonb(inserted)
from inserted;
"""

# Charges: a cancelled lesson's are waived (what cancel_lesson does); billable
# ones are mostly paid, the last two months' less so; future ones unpaid.
# Paid charges are grouped into one payment per client and month.
_CHARGES_AND_PAYMENTS = """
create temp table seed_charge on commit drop as
with charges as (
    select
        l.id as lesson_id, l.n, l.coach_id, l.start_time, l.end_time, l.status, l.price_cents,
        md5('seed-client:' || l.n || ':' || (1 + (l.first_client - 1 + j) % l.n_clients))::uuid
        as client_id,
        get_byte(l.h, 8 + j) as luck,
        l.status in ('completed', 'no_show') or (l.status = 'scheduled' and l.end_time < %(now)s)
        as billable
    from seed_lesson as l, generate_series(0, l.participants - 1) as j
)
select
    md5('seed-charge:' || lesson_id || ':' || client_id)::uuid as id,
    *,
    case
        when status = 'cancelled' then 'waived'
        when not billable then 'unpaid'
        when end_time < %(now)s - interval '60 days' then
            case when luck < 248 then 'paid' when luck < 253 then 'waived' else 'unpaid' end
        when luck < 154 then 'paid'
        else 'unpaid'
    end::public.payment_status as payment_status
from charges;

analyze seed_charge;

create temp table seed_payment on commit drop as
select
    md5('seed-payment:' || client_id || ':' || to_char(start_time, 'YYYY-MM') || ':'
        || %(from_day)s::date)::uuid as id,
    coach_id, client_id,
    sum(price_cents) as amount_cents,
    least(max(end_time) + interval '2 days', %(now)s) as paid_at
from seed_charge
where payment_status = 'paid'
group by 1, coach_id, client_id;

analyze seed_payment;

with inserted as (
    insert into public.payments (
        id, coach_id, client_id, amount_cents, method, status, paid_at, created_at
    )
    select
        id, coach_id, client_id, amount_cents,
        (array['card', 'cash', 'bank_transfer', 'card', 'other'])[
            1 + get_byte(decode(md5(id::text), 'hex'), 0) % 5
        ]::public.payment_method,
        'succeeded', paid_at, paid_at
    from seed_payment
    returning *
)
insert into public.audit_log (
    occurred_at, coach_id, actor_role, action, table_name, record_id, new_data
)
select created_at, coach_id, session_user, 'INSERT', 'payments', id::text, to_jsonb(inserted)
from inserted;

with inserted as (
    insert into public.lesson_participants (
        id, lesson_id, client_id, coach_id, price_cents, payment_status, payment_id, paid_at,
        attended, lesson_start_time, created_at
    )
    select
        c.id, c.lesson_id, c.client_id, c.coach_id, c.price_cents, c.payment_status,
        pay.id, pay.paid_at,
        case c.status when 'completed' then true when 'no_show' then false end,
        c.start_time,
        least(c.start_time - interval '7 days', %(now)s)
    from seed_charge as c
    left join seed_payment as pay
        on
            c.payment_status = 'paid'
            and pay.id = md5(
                'seed-payment:' || c.client_id || ':' || to_char(c.start_time, 'YYYY-MM')
                || ':' || %(from_day)s::date
            )::uuid
    order by c.coach_id, c.lesson_id
    returning *
)
insert into public.audit_log (
    occurred_at, coach_id, actor_role, action, table_name, record_id, new_data
)
select
    created_at, coach_id, session_user, 'INSERT', 'lesson_participants', id::text,
    to_jsonb(inserted)
from inserted;
"""

# What the skipped triggers would have refused, counted over the batch: each must be 0.
_CHECKS = {
    "charges whose lesson or client is not their coach's": """
        select count(*) from seed_charge as c
        where not exists (
            select from public.lessons as l where l.id = c.lesson_id and l.coach_id = c.coach_id
        ) or not exists (
            select from public.clients as cl where cl.id = c.client_id and cl.coach_id = c.coach_id
        )""",
    "lessons whose client, type or series is not their coach's": """
        select count(*) from public.lessons as l
        inner join seed_lesson as s on s.id = l.id
        where (l.client_id is not null and not exists (
            select from public.clients as c where c.id = l.client_id and c.coach_id = l.coach_id
        )) or not exists (
            select from public.lesson_types as t
            where t.id = l.lesson_type_id and t.coach_id = l.coach_id
        ) or (l.recurring_lesson_id is not null and not exists (
            select from public.recurring_lessons as r
            where r.id = l.recurring_lesson_id and r.coach_id = l.coach_id
        ))""",
    "lessons over their type's capacity": """
        select count(*) from (
            select l.id from seed_lesson as l
            inner join public.lesson_types as t on t.id = l.lesson_type_id
            inner join public.lesson_participants as p on p.lesson_id = l.id
            group by l.id, t.max_participants
            having count(*) > t.max_participants
        ) as over_capacity""",
    "payments whose amount is not the sum of their charges": """
        select count(*) from seed_payment as pay
        where pay.amount_cents <> (
            select coalesce(sum(p.price_cents), 0) from public.lesson_participants as p
            where p.payment_id = pay.id
        )""",
    "charges whose copy of their lesson's start time is not their lesson's": """
        select count(*) from seed_charge as c
        inner join public.lesson_participants as p on p.id = c.id
        inner join public.lessons as l on l.id = p.lesson_id
        where p.lesson_start_time is distinct from l.start_time""",
    "waived or unpaid charges of a cancelled lesson that are not waived": """
        select count(*) from seed_charge as c
        where c.status = 'cancelled' and c.payment_status <> 'waived'""",
}

# The balance invariant over the batch's clients: the view against the rule.
_BALANCE_CHECK = """
select count(*)
from public.client_balances as b
left join (
    select p.client_id, sum(p.price_cents) as unpaid_cents
    from public.lesson_participants as p
    inner join public.lessons as l on l.id = p.lesson_id
    where
        p.coach_id = any(%(coach_ids)s::uuid[])
        and p.payment_status = 'unpaid'
        and private.is_billable(l.status, l.end_time)
    group by p.client_id
) as rule on rule.client_id = b.client_id
where
    b.coach_id = any(%(coach_ids)s::uuid[])
    and b.unpaid_cents <> coalesce(rule.unpaid_cents, 0)
"""

_COUNT_SEEDED = f"""
select count(*) from auth.users where email like 'coach%@{SEED_DOMAIN}'
"""

# Coach numbers 1…N without their user: what a seed still has to add (holes included,
# which a run stopped mid-way by a failed batch of one loader leaves).
_MISSING = f"""
select n from generate_series(1, %(coaches)s::int) as n
where not exists (select from auth.users as u where u.id = {coach_id_sql("n")})
order by n
"""

_TABLES = (
    "coaches",
    "clients",
    "lesson_types",
    "recurring_lessons",
    "lessons",
    "lesson_participants",
    "payments",
    "audit_log",
)

Progress = Callable[[int], None]


def seeded_coaches(conn: psycopg.Connection[Any]) -> int:
    """How many benchmark coaches the database holds (numbered 1 to this)."""
    row = conn.execute(_COUNT_SEEDED).fetchone()
    return int(row[0]) if row else 0


def _batches(numbers: Sequence[int], loaders: int = 1) -> Iterator[list[int]]:
    """Batches of at most BATCH_COACHES, and at least one per loader when there are fewer."""
    size = max(1, min(BATCH_COACHES, -(-len(numbers) // max(1, loaders))))
    for start in range(0, len(numbers), size):
        yield list(numbers[start : start + size])


def _require_superuser(conn: psycopg.Connection[Any]) -> None:
    row = conn.execute("select rolsuper from pg_roles where rolname = current_user").fetchone()
    if not row or not row[0]:
        raise SeedError(
            "the bulk seed needs a superuser connection (it loads with"
            " session_replication_role = replica and does the triggers' work itself)"
        )


def _statements(script: str) -> list[str]:
    """A script's statements, with `%` doubled outside the `%(name)s` placeholders."""
    protected = re.sub(r"%\((\w+)\)s", "\0\\1\0", script).replace("%", "%%")
    text = re.sub("\0(\\w+)\0", r"%(\1)s", protected)
    return [part for part in text.split(";\n") if part.strip()]


def _run(conn: psycopg.Connection[Any], script: str, params: dict[str, Any]) -> None:
    for statement in _statements(script):
        conn.execute(statement, params)


def _run_batch(conn: psycopg.Connection[Any], params: dict[str, Any], *, new_coaches: bool) -> None:
    with conn.transaction():
        _load_batch(conn, params, new_coaches=new_coaches)


def _load_batch(
    conn: psycopg.Connection[Any], params: dict[str, Any], *, new_coaches: bool
) -> None:
    """One batch inside the caller's transaction; the triggers are back on when it returns."""
    conn.execute("set local session_replication_role = replica")
    # Compiling these one-off statements costs seconds and saves nothing.
    conn.execute("set local jit = off")
    _run(conn, _BATCH_COACHES, params)
    if new_coaches:
        _run(conn, _USERS_AND_COACHES, params)
    _run(conn, _LESSONS, params)
    _run(conn, _CHARGES_AND_PAYMENTS, params)
    for rule, query in _CHECKS.items():
        _expect_none(conn, rule, query)
    coach_ids = [row[0] for row in conn.execute("select coach_id from seed_coach").fetchall()]
    _expect_none(
        conn,
        "clients whose balance is not their unpaid billable charges",
        _BALANCE_CHECK,
        {"coach_ids": coach_ids},
    )
    conn.execute("drop table seed_coach, seed_lesson, seed_charge, seed_payment")
    conn.execute("set local session_replication_role = origin")
    conn.execute("set local jit = default")


def _expect_none(
    conn: psycopg.Connection[Any], rule: str, query: str, params: dict[str, Any] | None = None
) -> None:
    row = conn.execute(query, params).fetchone()
    count = int(row[0]) if row else 0
    if count:
        raise SeedError(f"seed batch broke a rule: {count} {rule}")


def check_scale(coaches: int, years: float) -> None:
    if coaches < 1:
        raise SeedError("--coaches must be at least 1")
    if not 0 < years <= 20:
        raise SeedError("--years must be more than 0 and at most 20")


def seed_coaches(
    conn: psycopg.Connection[Any],
    coaches: int,
    *,
    years: float = 1.0,
    now: dt.datetime | None = None,
    progress: Progress | None = None,
    connect: Callable[[], psycopg.Connection[Any]] | None = None,
    loaders: int = LOADERS,
) -> SeedResult:
    """Make the database hold `coaches` benchmark coaches, adding the missing ones.

    With `connect` (a new superuser connection each call), the batches are
    spread over `loaders` connections loading at once, each batch its own
    transaction: the load is CPU-bound in the server, which then uses every core.
    """
    check_scale(coaches, years)
    _require_superuser(conn)
    began = time.perf_counter()
    present = seeded_coaches(conn)
    now = now or dt.datetime.now(dt.UTC)
    today = now.date()
    params = {
        "now": now,
        "start": now - dt.timedelta(days=round(365 * years)),
        "from_day": today - dt.timedelta(days=round(365 * years)),
        "to_day": today + dt.timedelta(days=FUTURE_DAYS),
    }
    missing = [int(r[0]) for r in conn.execute(_MISSING, {"coaches": coaches}).fetchall()]
    batches = list(_batches(missing, loaders if connect else 1))
    if connect is None or loaders < 2 or len(batches) < 2:
        for numbers in batches:
            _run_batch(conn, {**params, "numbers": numbers}, new_coaches=True)
            if progress:
                progress(len(numbers))
    else:
        _load_in_parallel(connect, loaders, batches, params, progress)
    conn.execute("analyze")
    return SeedResult(
        coaches=max(present, coaches),
        added=len(missing),
        seconds=time.perf_counter() - began,
        rows=row_counts(conn),
    )


def _load_in_parallel(
    connect: Callable[[], psycopg.Connection[Any]],
    loaders: int,
    batches: list[list[int]],
    params: dict[str, Any],
    progress: Progress | None,
) -> None:
    """Each loader takes the next batch until none is left; the first failure stops them all."""
    queue = iter(batches)
    lock = threading.Lock()
    failures: list[BaseException] = []

    def load() -> None:
        with connect() as conn:
            while not failures:
                with lock:
                    numbers = next(queue, None)
                if numbers is None:
                    return
                _run_batch(conn, {**params, "numbers": numbers}, new_coaches=True)
                if progress:
                    with lock:
                        progress(len(numbers))

    def guarded() -> None:
        try:
            load()
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
            failures.append(exc)

    threads = [threading.Thread(target=guarded) for _ in range(min(loaders, len(batches)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


def extend_history(
    conn: psycopg.Connection[Any],
    numbers: Sequence[int],
    *,
    from_day: dt.date,
    to_day: dt.date,
    now: dt.datetime | None = None,
) -> float:
    """Add the lessons, charges and payments of the days [from_day, to_day) to seeded coaches.

    Runs inside the caller's transaction (the benchmark rolls it back).
    """
    _require_superuser(conn)
    began = time.perf_counter()
    params = {
        "now": now or dt.datetime.now(dt.UTC),
        "from_day": from_day,
        "to_day": to_day,
        "numbers": list(numbers),
    }
    _load_batch(conn, params, new_coaches=False)
    conn.execute("analyze public.lessons, public.lesson_participants, public.payments")
    return time.perf_counter() - began


def row_counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """Estimated rows per table (from the statistics `analyze` just refreshed)."""
    rows = conn.execute(
        "select relname, greatest(reltuples, 0)::bigint from pg_class"
        " where relnamespace = 'public'::regnamespace and relname = any(%s)",
        (list(_TABLES),),
    ).fetchall()
    return {str(name): int(count) for name, count in rows}
