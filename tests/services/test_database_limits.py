"""The database's own guarantees as the Python layer meets them, through both gateways on
the same real database: its write limits surface as `RateLimited`, and every row it
accepted, at the edges of the range of times, is readable (docs/rules.md)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from psycopg import sql

from backend.errors import RateLimited
from backend.gateway.base import Caller
from backend.gateway.direct import DirectGateway
from backend.services import Services
from backend.testing import Coach, TestDatabase
from tests.gateway.stand_in import ANON_KEY, URL, PostgrestOnDatabase, user_token
from tests.services.support import hours_from_now

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LAST_MINUTE = datetime(2199, 12, 31, 23, 59, tzinfo=UTC)


def _lower_lesson_limit(pg: TestDatabase, writes: int) -> None:
    pg.admin.execute(
        "update private.rate_limits set max_writes = %s where policy = 'lesson'", (writes,)
    )


def test_a_lesson_write_past_the_databases_limit_is_rate_limited(
    pg: TestDatabase, via: Callable[..., Services]
) -> None:
    """No limiter in the layer here: the database alone refuses the third write."""
    _lower_lesson_limit(pg, 2)
    coach = pg.sign_up()
    svc = via(coach)
    ann = svc.clients.create(first_name="Ann")
    for i in range(2):
        svc.lessons.create(client_ids=[ann.id], start_time=hours_from_now(24 + 2 * i),
                           end_time=hours_from_now(25 + 2 * i))  # fmt: skip

    with pytest.raises(RateLimited) as info:
        svc.lessons.create(client_ids=[ann.id], start_time=hours_from_now(30),
                           end_time=hours_from_now(31))  # fmt: skip

    error = info.value
    assert (error.key, error.http_status, error.sqlstate) == ("rate_limited", 429, "PT429")
    assert (error.policy, error.limit, error.window_seconds) == ("lesson", 2, 60.0)
    assert 1 <= error.retry_after <= 60
    assert len(svc.reads.calendar(start=hours_from_now(0), end=hours_from_now(48)).items) == 2


def test_postgrest_answers_the_databases_limit_with_429(pg: TestDatabase) -> None:
    """The stand-in maps PTxyz to HTTP xyz as PostgREST does, for a supabase-js caller."""
    _lower_lesson_limit(pg, 1)
    coach = pg.sign_up()
    headers = {"apikey": ANON_KEY, "Authorization": f"Bearer {user_token(coach.id, coach.email)}"}
    postgrest = PostgrestOnDatabase(pg.url)
    try:
        with httpx.Client(transport=httpx.MockTransport(postgrest.handler)) as http:
            answers = [
                http.post(
                    f"{URL}/rest/v1/lessons",
                    headers=headers,
                    json={
                        "start_time": start.isoformat(),
                        "end_time": (start + timedelta(hours=1)).isoformat(),
                    },
                )
                for start in (hours_from_now(24), hours_from_now(48))
            ]
    finally:
        postgrest.close()
    assert [a.status_code for a in answers] == [201, 429]
    body = answers[1].json()
    assert (body["code"], body["hint"]) == ("PT429", "rate_limited")
    assert json.loads(body["details"])["policy"] == "lesson"


def _rows_at_the_edges(pg: TestDatabase, coach: Coach) -> uuid.UUID:
    """A client with a lesson at the first instant of the range and one ending in its last
    minute, and a series spanning it, all written directly by the coach."""
    with pg.as_coach(coach) as c:
        client = c.execute("insert into clients (first_name) values ('Edge') returning id")
        client_id = client.fetchone()[0]  # type: ignore[index]
        lessons = c.execute(
            "insert into lessons (client_id, start_time, end_time, price_cents)"
            " values (%(c)s, %(first)s, %(first)s + interval '1 hour', 100),"
            " (%(c)s, %(last)s - interval '1 hour', %(last)s, 200) returning id",
            {"c": client_id, "first": EARLIEST, "last": LAST_MINUTE},
        ).fetchall()
        c.cursor().executemany(
            "insert into lesson_participants (lesson_id, client_id) values (%s, %s)",
            [(lesson, client_id) for (lesson,) in lessons],
        )
        c.execute(
            "insert into recurring_lessons (frequency, first_start_time, duration_minutes,"
            " timezone, until_date) values ('weekly', %s, 60, 'Pacific/Kiritimati', '2199-12-31')",
            (EARLIEST,),
        )
    return client_id  # type: ignore[no-any-return]


@pytest.mark.parametrize("timezone", ["UTC", "America/New_York", "Pacific/Kiritimati"])
def test_rows_at_the_edges_of_the_range_are_readable_on_the_direct_gateway(
    pg: TestDatabase, timezone: str
) -> None:
    """Read in the coach's zone and with the database session in that zone too (1900 has
    local mean time offsets with seconds), as one coach and as server code over all."""
    coach = pg.sign_up()
    pg.admin.execute("update coaches set timezone = %s where id = %s", (timezone, coach.id))
    database = pg.admin.execute("select current_database()").fetchone()[0]  # type: ignore[index]
    pg.admin.execute(
        sql.SQL("alter database {} set timezone to {}").format(
            sql.Identifier(database), sql.Literal(timezone)
        )
    )
    client_id = _rows_at_the_edges(pg, coach)
    gateway = DirectGateway(pg.url, min_size=1, max_size=2)
    try:
        _read_everything(gateway, coach, client_id)
    finally:
        gateway.close()


def _read_everything(gateway: DirectGateway, coach: Coach, client_id: uuid.UUID) -> None:
    svc = Services(gateway.session(Caller.user(coach.id, email=coach.email)))
    history = svc.reads.history().items
    balance = svc.reads.balance(client_id)
    board = svc.reads.dashboard()
    early = svc.reads.calendar(start=EARLIEST, end=EARLIEST + timedelta(days=1)).items
    late = svc.reads.calendar(start=LAST_MINUTE - timedelta(days=1), end=LAST_MINUTE).items
    charges = svc.payments.charges(client_id, None).items

    assert [h.start_time for h in history] == [EARLIEST]  # the other has not started
    assert (balance.unpaid_cents, balance.oldest_unpaid_at) == (100, EARLIEST)
    assert balance.last_lesson_at == EARLIEST
    assert board.outstanding_cents == 100
    assert [lesson.start_time for lesson in early] == [EARLIEST]
    assert [lesson.end_time for lesson in late] == [LAST_MINUTE]
    assert len(charges) == 2
    everyone = Services(gateway.administrative_session())
    assert client_id in {b.client_id for b in everyone.reads.balances().items}
