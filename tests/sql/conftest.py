"""Helpers for the SQL tests: data set-up as the superuser, RPC calls, error checks.

Set-up goes through `pg.admin` (fast, no RLS) only for data a test is not
about; whatever a test is about runs as the impersonated role.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from backend.db.connect import connect
from backend.db.impersonation import Principal, impersonate
from backend.testing import Coach, TestDatabase

NOW = datetime.now(UTC).replace(microsecond=0)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


@contextmanager
def raises_sql(
    sqlstate: str, hint: str | None = None
) -> Iterator[pytest.ExceptionInfo[psycopg.Error]]:
    """The block fails with this SQLSTATE (and this HINT key, when given)."""
    with pytest.raises(psycopg.Error) as info:
        yield info
    assert info.value.sqlstate == sqlstate, f"{info.value.sqlstate}: {info.value}"
    if hint is not None:
        assert info.value.diag.message_hint == hint, info.value.diag.message_hint


def rpc(conn: psycopg.Connection[Any], function: str, **params: Any) -> list[tuple[Any, ...]]:
    """Call a public function by parameter name, as PostgREST's /rpc does."""
    args = ", ".join(f"{name} => %({name})s" for name in params)
    return conn.execute(f"select * from public.{function}({args})", params).fetchall()


def rpc_one(conn: psycopg.Connection[Any], function: str, **params: Any) -> dict[str, Any]:
    """One row of a function returning a table row, as a dict."""
    args = ", ".join(f"{name} => %({name})s" for name in params)
    cur = conn.execute(f"select * from public.{function}({args})", params)
    row = cur.fetchone()
    assert row is not None
    assert cur.description is not None
    return {d.name: v for d, v in zip(cur.description, row, strict=True)}


def count(pg: TestDatabase, table: str, where: str = "true", *params: Any) -> int:
    """The truth, read as the superuser."""
    row = pg.admin.execute(f"select count(*) from public.{table} where {where}", params).fetchone()
    assert row is not None
    return int(row[0])


def scalar(pg: TestDatabase, query: str, *params: Any) -> Any:
    row = pg.admin.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def make_client(pg: TestDatabase, coach: Coach, first_name: str = "Ann", **cols: Any) -> uuid.UUID:
    values = {"coach_id": coach.id, "first_name": first_name, **cols}
    names = ", ".join(values)
    marks = ", ".join(["%s"] * len(values))
    return uuid.UUID(
        str(
            scalar(
                pg,
                f"insert into public.clients ({names}) values ({marks}) returning id",
                *values.values(),
            )
        )
    )


def make_lesson_type(
    pg: TestDatabase,
    coach: Coach,
    name: str = "Private",
    duration_minutes: int = 60,
    price_cents: int = 5000,
    max_participants: int = 1,
    is_active: bool = True,
) -> uuid.UUID:
    return uuid.UUID(
        str(
            scalar(
                pg,
                "insert into public.lesson_types"
                " (coach_id, name, duration_minutes, price_cents, max_participants, is_active)"
                " values (%s, %s, %s, %s, %s, %s) returning id",
                coach.id,
                name,
                duration_minutes,
                price_cents,
                max_participants,
                is_active,
            )
        )
    )


def book(
    pg: TestDatabase,
    coach: Coach,
    client_ids: list[uuid.UUID],
    start: datetime,
    minutes: int = 60,
    price_cents: int = 5000,
    lesson_type_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """A lesson with its participants, booked through the RPC as the coach."""
    with pg.as_coach(coach) as c:
        return rpc_one(
            c,
            "create_lesson_with_participants",
            p_client_ids=client_ids,
            p_start_time=start,
            p_end_time=start + timedelta(minutes=minutes),
            p_price_cents=price_cents,
            p_lesson_type_id=lesson_type_id,
        )


def participant_ids(pg: TestDatabase, lesson_id: uuid.UUID) -> list[uuid.UUID]:
    rows = pg.admin.execute(
        "select id from public.lesson_participants where lesson_id = %s order by client_id",
        (lesson_id,),
    ).fetchall()
    return [r[0] for r in rows]


class Session:
    """A connection of its own, impersonating a principal in an open transaction (for"
    " concurrency tests)."""

    def __init__(self, pg: TestDatabase, principal: Principal) -> None:
        # autocommit, so that the explicit begin/commit of the test are the only ones
        self.conn = connect(pg.url, autocommit=True)
        self.conn.execute("begin")
        impersonate(self.conn, principal)
        row = self.conn.execute("select pg_backend_pid()").fetchone()
        assert row is not None
        self.pid = int(row[0])

    def close(self) -> None:
        self.conn.close()


def run_in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Start fn in a thread; the dict receives its 'result' or its 'error'."""
    out: dict[str, Any] = {}

    def target() -> None:
        try:
            out["result"] = fn()
        except Exception as exc:
            out["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, out


def wait_until_blocked(pg: TestDatabase, pid: int, timeout: float = 5.0) -> None:
    """Wait until backend `pid` waits on a lock: proof that the two calls really overlapped."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = pg.admin.execute(
            "select wait_event_type from pg_stat_activity where pid = %s", (pid,)
        ).fetchone()
        if row and row[0] == "Lock":
            return
        time.sleep(0.02)
    raise AssertionError(f"backend {pid} never waited on a lock")
