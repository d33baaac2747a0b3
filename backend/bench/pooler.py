"""`backend bench pooler`: many callers through a transaction pooler onto few server connections.

Each caller is a coach with a client and a lesson type, and runs one mixed
cycle of service calls through the direct gateway, each call a request of its
own: book a lesson (in the past, so it is billable), read its charge, record a
payment for it, then the dashboard, the balances and the client list. The
callers share one gateway whose pool holds one client connection per caller,
all of them to the pooler, which multiplexes them onto its few server
connections. The figures: calls per second, p50 and p95 per call, failed
calls by kind, and the most server connections the database saw at once.
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb

from backend.db.connect import PoolMode, connect, database_name
from backend.gateway.base import Caller
from backend.gateway.direct import DirectGateway
from backend.services import Services

CYCLE = ("booking", "charge", "payment", "dashboard", "balances", "clients")


@dataclass
class CallerState:
    """One caller's coach and what its earlier calls left for the next ones."""

    caller: Caller
    client_id: Any = None
    lesson_type_id: Any = None
    lesson_id: Any = None
    charge_id: Any = None
    bookings: int = 0


def sign_up_coaches(admin_url: str, count: int) -> list[Caller]:
    """`count` new coaches, made as Supabase Auth makes users (one `auth.users` row each)."""
    callers: list[Caller] = []
    with connect(admin_url, autocommit=True) as conn, conn.transaction():
        for n in range(count):
            user_id = uuid.uuid4()
            email = f"pooler-{user_id.hex[:12]}@example.test"
            conn.execute(
                "insert into auth.users (id, email, aud, role, raw_user_meta_data)"
                " values (%s, %s, 'authenticated', 'authenticated', %s)",
                (user_id, email, Jsonb({"full_name": f"Pooler coach {n}"})),
            )
            callers.append(Caller.user(user_id, email=email))
    return callers


def prepare(gateway: DirectGateway, callers: list[Caller]) -> list[CallerState]:
    """A client and a lesson type for every coach, through the gateway."""
    states = []
    for caller in callers:
        services = Services(gateway.session(caller))
        client = services.clients.create(first_name="Pat")
        kind = services.lesson_types.create(name="Hour", duration_minutes=60, price_cents=4000)
        states.append(CallerState(caller, client.id, kind.id))
    return states


def mixed_call(gateway: DirectGateway, state: CallerState, step: int) -> str:
    """The `step`th call of this caller's cycle, as one request; returns the call's kind."""
    services = Services(gateway.session(state.caller))
    kind = CYCLE[step % len(CYCLE)]
    if kind == "booking":
        state.bookings += 1
        start = datetime.now(UTC).replace(second=0, microsecond=0)
        lesson = services.lessons.create(
            client_ids=[state.client_id],
            start_time=start - timedelta(hours=2 * state.bookings),
            lesson_type_id=state.lesson_type_id,
        )
        state.lesson_id, state.charge_id = lesson.id, None
    elif kind == "charge" and state.lesson_id is not None:
        state.charge_id = services.lessons.participants(state.lesson_id)[0].id
    elif kind == "payment" and state.charge_id is not None:
        services.payments.record(
            client_id=state.client_id, participant_ids=[state.charge_id], method="cash"
        )
        state.charge_id = None
    elif kind == "balances":
        services.reads.balances()
    elif kind == "clients":
        services.clients.list()
    else:  # the dashboard, also in place of a step whose earlier step failed
        services.reads.dashboard()
        return "dashboard"
    return kind


def error_kind(exc: BaseException) -> str:
    """A short name for a failure: the cause's SQLSTATE class and its message's first words."""
    cause: BaseException = exc.__cause__ or exc
    message = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
    if "prepared statement" in message:  # "_pg3_0", "_pg3_1"…: one kind each way
        state = "already exists" if "already exists" in message else "does not exist"
        return f"prepared statement {state}"
    return f"{type(exc).__name__}: {message[:80]}"


@dataclass
class PoolerReport:
    callers: int
    calls: int
    failed: int
    seconds: float
    calls_per_s: float
    p50_ms: float
    p95_ms: float
    server_connections_peak: int
    pool_mode: str
    errors: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class _PeakConnections:
    """Samples how many server connections the database has, in a thread of its own."""

    def __init__(self, admin_url: str) -> None:
        self._admin_url = admin_url
        self._database = database_name(admin_url)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> _PeakConnections:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        query = (
            "select count(*) from pg_catalog.pg_stat_activity"
            " where datname = %s and pid <> pg_backend_pid()"
        )
        with connect(self._admin_url, autocommit=True) as conn:
            while not self._stop.wait(0.02):
                row = conn.execute(query, (self._database,)).fetchone()
                self.peak = max(self.peak, int(row[0]) if row else 0)


def run_mixed_load(
    pooled_url: str,
    admin_url: str,
    *,
    callers: int,
    calls_per_caller: int,
    pool_mode: PoolMode = "transaction",
    progress: Callable[[str], None] | None = None,
) -> PoolerReport:
    """`callers` threads, `calls_per_caller` mixed calls each, through `pooled_url`.

    `admin_url` reaches the same database directly: it signs the coaches up and
    counts server connections. `pool_mode` is what the gateway is told it sits
    behind ("direct" keeps psycopg's prepared statements, to show what they do).
    """
    say = progress or (lambda _line: None)
    say(f"signing up {callers} coaches")
    coaches = sign_up_coaches(admin_url, callers)
    with DirectGateway(admin_url, max_size=2) as direct:
        states = prepare(direct, coaches)
    with DirectGateway(
        pooled_url, min_size=1, max_size=callers, timeout=60.0, pool_mode=pool_mode
    ) as gateway:
        durations: list[float] = []
        kinds: Counter[str] = Counter()
        errors: Counter[str] = Counter()
        lock = threading.Lock()
        start = threading.Barrier(callers + 1)

        def caller_loop(state: CallerState) -> None:
            start.wait()
            for step in range(calls_per_caller):
                began = time.perf_counter()
                try:
                    kind = mixed_call(gateway, state, step)
                except Exception as exc:  # noqa: BLE001 - every failure is counted by kind
                    with lock:
                        errors[error_kind(exc)] += 1
                    continue
                with lock:
                    durations.append(time.perf_counter() - began)
                    kinds[kind] += 1

        threads = [threading.Thread(target=caller_loop, args=(s,)) for s in states]
        for thread in threads:
            thread.start()
        say(f"{callers} callers x {calls_per_caller} calls, pool mode {pool_mode}")
        with _PeakConnections(admin_url) as peak:
            start.wait()
            began = time.perf_counter()
            for thread in threads:
                thread.join()
            seconds = time.perf_counter() - began
    calls = callers * calls_per_caller
    ordered = sorted(durations) or [0.0]
    return PoolerReport(
        callers=callers,
        calls=calls,
        failed=sum(errors.values()),
        seconds=round(seconds, 2),
        calls_per_s=round(len(durations) / seconds, 1) if seconds else 0.0,
        p50_ms=round(statistics.median(ordered) * 1000, 2),
        p95_ms=round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 2),
        server_connections_peak=peak.peak,
        pool_mode=pool_mode,
        errors=dict(errors.most_common()),
        by_kind=dict(sorted(kinds.items())),
    )
