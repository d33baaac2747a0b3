"""The performance suite: every figure measured on one database, in one run.

Each page query runs as PostgREST runs it: one transaction per request, the
impersonation statement, the query, COMMIT, every statement prepared on its
connection (PostgREST's default); then again with nothing prepared, as behind
a transaction pooler. Times are taken on the client around the query, so both
sides of every comparison pay the same round trip, with the coach's rows in
cache (the query runs once first). Coaches are a fixed random sample of the
seeded ones. Rates are measured with worker processes, as a service runs them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import itertools
import multiprocessing
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import psycopg

from backend.audit.config import load_config
from backend.audit.runner import run_audit
from backend.bench import BenchError
from backend.bench.pages import CLIENT_IDS, ONE_BALANCE, PAGE_QUERIES, PageQuery
from backend.bench.seed import clients_of, extend_history, seeded_coaches
from backend.db.connect import connect
from backend.db.impersonation import Principal, impersonation_statement
from backend.db.project import find_project
from backend.gateway.base import Caller
from backend.gateway.direct import DirectGateway
from backend.observability import configure_logging
from backend.services.lessons import LessonService
from backend.services.reads import ReadService

HISTORY_QUERIES = ("client_balances", "coach_dashboard")
RPC_WORKERS = 4
CALL_SQL = (
    "select * from public.create_lesson_with_participants("
    "p_client_ids => %s::uuid[], p_start_time => %s::timestamptz, p_lesson_type_id => %s::uuid)"
)


@dataclass(frozen=True)
class SeededCoach:
    number: int

    def _id(self, kind: str, *parts: int) -> uuid.UUID:
        text = ":".join([f"seed-{kind}", *(str(p) for p in parts)])
        return uuid.UUID(hashlib.md5(text.encode(), usedforsecurity=False).hexdigest())

    @property
    def id(self) -> uuid.UUID:
        return self._id("coach", self.number)

    @property
    def first_client(self) -> uuid.UUID:
        return self._id("client", self.number, 1)

    @property
    def private_lesson_type(self) -> uuid.UUID:
        return self._id("type", self.number, 2)

    @property
    def has_50_clients(self) -> bool:
        """About 50 (35 to 65): every coach but the 2% with 150."""
        return self.number % 50 != 0

    @property
    def clients(self) -> int:
        """How many clients the seed gives this coach."""
        return clients_of(self.number)


@dataclass
class QueryFigures:
    p50_ms: float
    p95_ms: float
    owner_p50_ms: float
    owner_p95_ms: float
    rls_ratio: float


@dataclass
class BenchReport:
    scale: dict[str, Any]
    seed_seconds: float
    queries: dict[str, QueryFigures]
    queries_unprepared: dict[str, QueryFigures]
    scaling: dict[str, Any] | None
    history: dict[str, Any]
    dashboard: dict[str, float]
    rpc: dict[str, float]
    layer_read: dict[str, float]
    audit_seconds: float
    audit_findings: int

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def coaches_with_clients(total: int, clients: int, size: int) -> list[SeededCoach]:
    """A reproducible sample of the seeded coaches that have exactly `clients` clients."""
    numbers = list(range(1, total + 1))
    random.Random(17).shuffle(numbers)  # noqa: S311 - a reproducible sample, not a secret
    return [c for c in map(SeededCoach, numbers) if c.clients == clients][:size]


def sample_coaches(total: int, size: int, seed: int = 13) -> list[SeededCoach]:
    numbers = random.Random(seed).sample(  # noqa: S311 - a reproducible sample, not a secret
        range(1, total + 1), min(size, total)
    )
    return [SeededCoach(n) for n in sorted(numbers)]


@contextlib.contextmanager
def _as_coach(
    conn: psycopg.Connection[Any], coach: SeededCoach, path: str = "/bench"
) -> Iterator[None]:
    with conn.transaction():
        conn.execute(*impersonation_statement(Principal.user(coach.id), method="GET", path=path))
        yield


def _timed(conn: psycopg.Connection[Any], query: str, params: dict[str, Any] | None) -> float:
    began = time.perf_counter()
    conn.execute(query, params).fetchall()
    return time.perf_counter() - began


@contextlib.contextmanager
def _preparing(conn: psycopg.Connection[Any], prepare: bool) -> Iterator[None]:
    """Every statement prepared on its first use (as PostgREST does), or none at all."""
    threshold = conn.prepare_threshold
    conn.prepare_threshold = 0 if prepare else None
    try:
        yield
    finally:
        conn.prepare_threshold = threshold


def measure_pages(
    conn: psycopg.Connection[Any],
    coaches: Sequence[SeededCoach],
    queries: Sequence[PageQuery] = PAGE_QUERIES,
    *,
    prepare: bool = True,
) -> dict[str, QueryFigures]:
    """Each query as the coach and as the owner with `coach_id = …`, in one transaction.

    With `prepare`, every statement is a prepared statement of the connection, as
    PostgREST sends them on its own connections (`db-prepared-statements`, on by
    default); without, each is planned on every request, as behind a transaction
    pooler that can not keep them. The coach's query runs once unmeasured first,
    so both are timed with the coach's rows in cache (a page a coach opens again)
    and the statement prepared; which of the two is timed first alternates from
    coach to coach.
    """
    timings: dict[str, tuple[list[float], list[float]]] = {q.name: ([], []) for q in queries}
    with _preparing(conn, prepare):
        for index, coach in enumerate(coaches):
            for query in queries:
                as_coach, as_owner = _page_as_both(conn, coach, query, owner_first=bool(index % 2))
                timings[query.name][0].append(as_coach)
                timings[query.name][1].append(as_owner)
    figures = {}
    for name, (coach_times, owner_times) in timings.items():
        p50, owner_p50 = percentile(coach_times, 0.5), percentile(owner_times, 0.5)
        figures[name] = QueryFigures(
            p50_ms=_ms(p50),
            p95_ms=_ms(percentile(coach_times, 0.95)),
            owner_p50_ms=_ms(owner_p50),
            owner_p95_ms=_ms(percentile(owner_times, 0.95)),
            rls_ratio=round(p50 / owner_p50, 3) if owner_p50 else 0.0,
        )
    return figures


def _page_as_both(
    conn: psycopg.Connection[Any], coach: SeededCoach, query: PageQuery, *, owner_first: bool
) -> tuple[float, float]:
    """One page as the coach and as the owner, in one transaction, warm: (coach, owner)."""
    owner = {"coach_id": coach.id}
    with _as_coach(conn, coach, f"/{query.name}"):
        conn.execute(query.as_coach).fetchall()
        if owner_first:
            conn.execute("reset role")
            as_owner = _timed(conn, query.as_owner, owner)
            conn.execute("set local role authenticated")
            return _timed(conn, query.as_coach, None), as_owner
        as_coach = _timed(conn, query.as_coach, None)
        conn.execute("reset role")
        return as_coach, _timed(conn, query.as_owner, owner)


def measure_history(
    conn: psycopg.Connection[Any], coaches: Sequence[SeededCoach]
) -> dict[str, Any]:
    """The balance pages before and after doubling these coaches' past (rolled back after)."""
    queries = [q for q in PAGE_QUERIES if q.name in HISTORY_QUERIES]
    before = measure_pages(conn, coaches, queries)
    ids = [c.id for c in coaches]
    with conn.transaction(force_rollback=True):
        row = conn.execute(
            "select min(start_time)::date from public.lessons where coach_id = any(%s)", (ids,)
        ).fetchone()
        earliest = row[0] if row and row[0] else dt.date.today()
        span = dt.date.today() - earliest
        seconds = extend_history(
            conn, [c.number for c in coaches], from_day=earliest - span, to_day=earliest
        )
        after = measure_pages(conn, coaches, queries)
    return {
        "coaches": len(coaches),
        "added_days": span.days,
        "extend_seconds": round(seconds, 1),
        "queries": {
            name: {
                "p95_ms_x1": before[name].p95_ms,
                "p95_ms_x2": after[name].p95_ms,
                "p50_ms_x1": before[name].p50_ms,
                "p50_ms_x2": after[name].p50_ms,
                "ratio": round(after[name].p95_ms / before[name].p95_ms, 3),
            }
            for name in before
        },
    }


def measure_dashboard(
    conn: psycopg.Connection[Any], coaches: Sequence[SeededCoach]
) -> dict[str, float]:
    """One `client_balances` request against the original app's one request per client."""
    n_plus_one: list[float] = []
    view: list[float] = []
    clients: list[int] = []
    for coach in coaches:
        began = time.perf_counter()
        with _as_coach(conn, coach, "/clients"):
            ids = [r[0] for r in conn.execute(CLIENT_IDS).fetchall()]
        for client_id in ids:
            with _as_coach(conn, coach, "/client_balances"):
                conn.execute(ONE_BALANCE, {"client_id": client_id}).fetchall()
        n_plus_one.append(time.perf_counter() - began)
        began = time.perf_counter()
        with _as_coach(conn, coach, "/client_balances"):
            conn.execute(PAGE_QUERIES[0].as_coach).fetchall()
        view.append(time.perf_counter() - began)
        clients.append(len(ids))
    n1, one = statistics.median(n_plus_one), statistics.median(view)
    return {
        "coaches": len(coaches),
        "clients_per_coach": round(statistics.mean(clients), 1),
        "n_plus_one_ms": _ms(n1),
        "view_ms": _ms(one),
        "speedup": round(n1 / one, 1),
    }


@contextlib.contextmanager
def _lesson_limit_lifted(url: str) -> Iterator[None]:
    """The database's lesson write limit (docs/rules.md) off for a measure, then as it was.

    A rate measure books as fast as it can as a few coaches, far past 30 a minute.
    """
    with connect(url, autocommit=True) as conn:
        row = conn.execute(
            "select max_writes from private.rate_limits where policy = 'lesson'"
        ).fetchone()
        if row is None:  # no limit configured: nothing to lift
            yield
            return
        lift = "update private.rate_limits set max_writes = %s where policy = 'lesson'"
        conn.execute(lift, (2**62,))
        try:
            yield
        finally:
            conn.execute(lift, (row[0],))


def measure_rpc(url: str, coaches: Sequence[SeededCoach], seconds: float) -> dict[str, float]:
    """`create_lesson_with_participants` through the layer, then raw with psycopg pipelining.

    Each side runs `RPC_WORKERS` worker processes, each booking lessons for its
    own coach at free hours far in the future; the lessons are deleted afterwards.
    The database's lesson write limit is lifted meanwhile.
    """
    with _lesson_limit_lifted(url):
        return _measure_rpc(url, coaches, seconds)


def _measure_rpc(url: str, coaches: Sequence[SeededCoach], seconds: float) -> dict[str, float]:
    numbers = [coaches[i % len(coaches)].number for i in range(RPC_WORKERS)]
    base = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    base += dt.timedelta(days=400)
    layer_rate = _rate_of_processes("layer", url, numbers, seconds, base)
    # the raw calls book further on: never onto an hour the layer booked
    raw_rate = _rate_of_processes("raw", url, numbers, seconds, base + dt.timedelta(days=3650))
    with connect(url, autocommit=True) as conn:
        conn.execute(
            "delete from public.lessons where coach_id = any(%s) and start_time >= %s",
            ([SeededCoach(n).id for n in numbers], base),
        )
    return {
        "workers": RPC_WORKERS,
        "calls_per_s": round(layer_rate, 1),
        "reference_calls_per_s": round(raw_rate, 1),
        "ratio": round(layer_rate / raw_rate, 3),
    }


def _rate_of_processes(
    kind: str, url: str, numbers: list[int], seconds: float, base: dt.datetime
) -> float:
    """Calls per second of `RPC_WORKERS` worker processes, as a service runs its workers
    (`WEB_CONCURRENCY`), each with its own connection; they start together."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(numbers))
    results = context.Queue()
    processes = [
        context.Process(
            target=_rpc_worker,
            args=(kind, url, number, index, len(numbers), seconds, base, barrier, results),
        )
        for index, number in enumerate(numbers)
    ]
    for process in processes:
        process.start()
    try:
        answers = [results.get(timeout=seconds + 120) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    failed = [a for a in answers if isinstance(a, str)]
    if failed:
        raise BenchError(f"a benchmark worker failed: {failed[0]}")
    return float(sum(calls / elapsed for calls, elapsed in answers))


def _rpc_worker(
    kind: str,
    url: str,
    number: int,
    index: int,
    workers: int,
    seconds: float,
    base: dt.datetime,
    barrier: Any,
    results: Any,
) -> None:
    """One worker process: books lessons for its coach at hours no other worker uses."""
    try:
        call, close = _rpc_caller(kind, url, SeededCoach(number))
    except Exception as exc:  # noqa: BLE001 - reported to the parent as text
        barrier.abort()
        results.put(f"{type(exc).__name__}: {exc}")
        return
    try:
        slot = itertools.count()

        def start() -> dt.datetime:
            return base + dt.timedelta(hours=2 * (next(slot) * workers + index))

        call(start())  # connected and warm
        barrier.wait()
        calls, began = 0, time.perf_counter()
        while time.perf_counter() - began < seconds:
            call(start())
            calls += 1
        results.put((calls, time.perf_counter() - began))
    except Exception as exc:  # noqa: BLE001 - reported to the parent as text
        results.put(f"{type(exc).__name__}: {exc}")
    finally:
        close()


def _rpc_caller(
    kind: str, url: str, coach: SeededCoach
) -> tuple[Callable[[dt.datetime], None], Callable[[], None]]:
    """`create_lesson_with_participants` one way: through `LessonService` over the direct
    gateway (logging as a service configures it), or raw, pipelined in one round trip."""
    if kind == "layer":
        configure_logging("INFO")
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - the worker's whole life
        gateway = DirectGateway(url, min_size=1, max_size=1)
        lessons = LessonService(gateway.session(Caller.user(coach.id)))

        def through_layer(start: dt.datetime) -> None:
            lessons.create(
                client_ids=[coach.first_client],
                start_time=start,
                lesson_type_id=coach.private_lesson_type,
            )

        return through_layer, gateway.close
    conn = psycopg.connect(url, autocommit=True)
    setup = impersonation_statement(
        Principal.user(coach.id), path="/rpc/create_lesson_with_participants"
    )

    def raw(start: dt.datetime) -> None:
        with conn.pipeline():
            conn.execute("begin")
            conn.execute(*setup)
            cursor = conn.execute(
                CALL_SQL, ([coach.first_client], start, coach.private_lesson_type)
            )
            conn.execute("commit")
        cursor.fetchall()

    return raw, conn.close


def measure_layer_read(url: str, coach: SeededCoach, rounds: int) -> dict[str, float]:
    """A balances page through `ReadService` against the same query raw, p50 of each."""
    layer: list[float] = []
    raw: list[float] = []
    with DirectGateway(url, min_size=1, max_size=1) as gateway:
        reads = ReadService(gateway.session(Caller.user(coach.id)))
        with psycopg.connect(url, autocommit=True) as conn:
            for _ in range(rounds):
                began = time.perf_counter()
                reads.balances()
                layer.append(time.perf_counter() - began)
                began = time.perf_counter()
                with _as_coach(conn, coach, "/client_balances"):
                    conn.execute(PAGE_QUERIES[0].as_coach).fetchall()
                raw.append(time.perf_counter() - began)
    layer_p50, raw_p50 = percentile(layer, 0.5), percentile(raw, 0.5)
    return {
        "p50_ms": _ms(layer_p50),
        "raw_p50_ms": _ms(raw_p50),
        "overhead_ms": _ms(layer_p50 - raw_p50),
    }


def measure_audit(url: str) -> tuple[float, int]:
    config = load_config(find_project().root / "audit.toml")
    began = time.perf_counter()
    result = run_audit(url, config)
    return time.perf_counter() - began, len(result.findings)


def table_rows(conn: psycopg.Connection[Any]) -> dict[str, int]:
    rows = conn.execute(
        "select relname, greatest(reltuples, 0)::bigint from pg_class"
        " where relnamespace = 'public'::regnamespace and relkind = 'r' order by relname"
    ).fetchall()
    return {str(name): int(count) for name, count in rows}


def bench_connection(url: str) -> psycopg.Connection[Any]:
    """A superuser connection that prepares nothing unless asked (`_preparing`)."""
    conn = connect(url, autocommit=True)
    conn.prepare_threshold = None
    row = conn.execute("select rolsuper from pg_roles where rolname = current_user").fetchone()
    if not row or not row[0]:
        conn.close()
        raise BenchError("the benchmark needs a superuser connection (it compares with the owner)")
    return conn


def present_coaches(url: str) -> int:
    with connect(url) as conn:
        return seeded_coaches(conn)
