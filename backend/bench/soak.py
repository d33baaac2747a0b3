"""`backend bench soak`: many coaches at once through the Python layer, then every invariant.

The traffic is a mix of what a coaching app does all day: reads (balances,
calendar, clients, dashboard), bookings (lessons created, some completed),
payments (a client's billable charges settled in cash) and Stripe webhooks
(server code as `service_role`). Refusals the rules make (a double booking, a
charge paid twice by two callers at once) are expected outcomes and counted by
key; anything else is an error. When the time is up, the invariants of
`backend.bench.invariants` are checked on the whole database.

`drive` is the traffic alone, over any `Backend`: another command can run the
same mix against another URL (a pooler) or with another number of callers.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb

from backend.app import Backend
from backend.config import load_settings
from backend.db.connect import connect
from backend.errors import BackendError
from backend.gateway.base import Caller, SessionTimeouts
from backend.gateway.direct import DirectGateway
from backend.payments.webhooks import Event, WebhookProcessor
from backend.services import Services

KINDS = ("read", "booking", "payment", "webhook")
WEIGHTS = (45, 30, 15, 10)
SOAK_DOMAIN = "soak.example.test"


@dataclass(frozen=True)
class Seat:
    """One coach the traffic acts as: its id, its clients and its lesson type."""

    coach_id: uuid.UUID
    client_ids: tuple[uuid.UUID, ...]
    lesson_type_id: uuid.UUID


@dataclass
class Traffic:
    """What `drive` did: requests and latencies by kind, outcomes by error key."""

    seconds: float = 0.0
    callers: int = 0
    requests: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)  # expected refusals, by key
    errors: Counter[str] = field(default_factory=Counter)  # everything else, by key or type
    latencies_ms: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def percentile_ms(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass(frozen=True)
class SoakReport:
    traffic: Traffic
    coaches: int
    broken: dict[str, int]

    @property
    def sound(self) -> bool:
        return not self.traffic.errors and not any(self.broken.values())

    def as_json(self) -> dict[str, Any]:
        t = self.traffic
        return {
            "seconds": round(t.seconds, 1),
            "callers": t.callers,
            "coaches": self.coaches,
            "requests": t.total,
            "requests_by_kind": dict(t.requests),
            "refused_by_key": dict(t.refused),
            "errors_by_kind": dict(t.errors),
            "p50_ms": round(t.percentile_ms(0.50), 2),
            "p95_ms": round(t.percentile_ms(0.95), 2),
            "invariants_broken": self.broken,
        }


def drive(
    backend: Backend, seats: Sequence[Seat], *, seconds: float, callers: int, seed: int = 0
) -> Traffic:
    """Run the mix as `callers` threads for `seconds`, each call as a random seat's coach."""
    traffic = Traffic(callers=callers)
    deadline = time.monotonic() + seconds
    began = time.monotonic()

    def caller(number: int) -> None:
        rng = random.Random(seed * 1000 + number)  # noqa: S311 - traffic, not secrets
        while time.monotonic() < deadline:
            kind = rng.choices(KINDS, WEIGHTS)[0]
            _one(traffic, kind, _ACTIONS[kind], backend, rng.choice(seats), rng)

    threads = [threading.Thread(target=caller, args=(n,), daemon=True) for n in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    traffic.seconds = time.monotonic() - began
    return traffic


Action = Callable[[Backend, Seat, random.Random], None]


def _one(
    traffic: Traffic, kind: str, action: Action, backend: Backend, seat: Seat, rng: random.Random
) -> None:
    started = time.perf_counter()
    refused = error = None
    try:
        action(backend, seat, rng)
    except BackendError as exc:
        if exc.expected:
            refused = exc.key
        else:
            error = exc.key
    except Exception as exc:  # noqa: BLE001 - an unmapped exception is what the soak looks for
        error = type(exc).__name__
    elapsed = (time.perf_counter() - started) * 1000
    with traffic.lock:
        traffic.requests[kind] += 1
        traffic.latencies_ms.append(elapsed)
        if refused:
            traffic.refused[refused] += 1
        if error:
            traffic.errors[f"{kind}:{error}"] += 1


def _as(backend: Backend, seat: Seat) -> Services:
    return backend.services_for(Caller.user(seat.coach_id))


def _read(backend: Backend, seat: Seat, rng: random.Random) -> None:
    services = _as(backend, seat)
    match rng.randrange(4):
        case 0:
            services.reads.balances()
        case 1:
            now = datetime.now(UTC)
            services.reads.calendar(start=now - timedelta(days=30), end=now + timedelta(days=30))
        case 2:
            services.clients.list()
        case _:
            services.reads.dashboard()


def _booking(backend: Backend, seat: Seat, rng: random.Random) -> None:
    services = _as(backend, seat)
    # Whole hours in the last and next two weeks: some slots clash, on purpose.
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start += timedelta(hours=rng.randrange(-14 * 24, 14 * 24))
    clients = rng.sample(seat.client_ids, k=1)
    lesson = services.lessons.create(
        client_ids=clients, start_time=start, lesson_type_id=seat.lesson_type_id
    )
    if lesson.end_time < datetime.now(UTC) and rng.random() < 0.7:
        services.lessons.complete(lesson.id)


def _payment(backend: Backend, seat: Seat, rng: random.Random) -> None:
    services = _as(backend, seat)
    client_id = rng.choice(seat.client_ids)
    now = datetime.now(UTC)
    charges = [
        c
        for c in services.payments.charges(client_id, "unpaid", limit=20).items
        if c.lesson_start_time is not None and c.lesson_start_time < now - timedelta(hours=2)
    ]
    if charges:
        services.payments.record(
            client_id=client_id, participant_ids=[c.id for c in charges[:5]], method="cash"
        )


def _webhook(backend: Backend, seat: Seat, rng: random.Random) -> None:
    # A Stripe event for a checkout this database never opened: stored, then "unmatched".
    admin = backend.gateway.administrative_session()
    event = Event.from_payload(
        {
            "id": f"evt_soak_{uuid.uuid4().hex}",
            "type": "checkout.session.completed",
            "data": {"object": {"id": f"cs_soak_{uuid.uuid4().hex}", "amount_total": 100}},
        }
    )
    WebhookProcessor(admin).receive(event)


_ACTIONS: dict[str, Action] = {
    "read": _read,
    "booking": _booking,
    "payment": _payment,
    "webhook": _webhook,
}


def prepare_seats(url: str, backend: Backend, coaches: int) -> list[Seat]:
    """Sign up `coaches` new coaches (as Supabase Auth would), each with 3 clients and a type."""
    seats = []
    with connect(url, autocommit=True) as conn:
        for _ in range(coaches):
            coach_id = uuid.uuid4()
            conn.execute(
                "insert into auth.users (id, email, aud, role, raw_user_meta_data)"
                " values (%s, %s, 'authenticated', 'authenticated', %s)",
                (coach_id, f"{coach_id.hex[:12]}@{SOAK_DOMAIN}", Jsonb({"full_name": "Soak"})),
            )
            services = backend.services_for(Caller.user(coach_id))
            clients = tuple(services.clients.create(first_name=f"C{i}").id for i in range(3))
            kind = services.lesson_types.create(
                name="Hour", duration_minutes=60, price_cents=4000, max_participants=2
            )
            seats.append(Seat(coach_id, clients, kind.id))
    return seats


def soak(url: str, *, seconds: float, callers: int, coaches: int) -> SoakReport:
    """Sign up coaches, drive the mix, then check every invariant on the database.

    The rate limiter is left out: the soak measures the database path under
    load; the limits have their own tests (docs/reliability.md).
    """
    from backend.bench.invariants import broken_invariants

    settings = load_settings(database_url=url)
    gateway = DirectGateway(
        url,
        min_size=1,
        max_size=max(2, callers),
        timeout=settings.database_pool_timeout_seconds,
        timeouts=SessionTimeouts.from_settings(settings),
    )
    backend = Backend(settings, gateway)
    try:
        seats = prepare_seats(url, backend, coaches)
        traffic = drive(backend, seats, seconds=seconds, callers=callers)
    finally:
        backend.close()
    with connect(url, autocommit=True) as conn:
        broken = broken_invariants(conn)
    return SoakReport(traffic, coaches, broken)
