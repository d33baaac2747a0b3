"""Sentry, structured logs and request ids.

Sentry runs with an in-memory transport (no network): events are inspected
exactly as they would leave the process.
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from backend.config import load_settings
from backend.errors import BackendError, DoubleBooking, NotFound
from backend.gateway.base import Caller, Request
from backend.observability import JsonFormatter, RequestIdFilter, init_sentry, request_scope
from backend.services import Services
from tests.services.support import hours_from_now

pytestmark = pytest.mark.direct_only  # reads or configures the local database

FAILING_ROW = ("Ann " + "Smith +44 7700 " + "900123", -1)  # personal data a driver error quotes


class MemoryTransport(Transport):
    def __init__(self) -> None:
        super().__init__({"dsn": None})
        self.events: list[dict[str, Any]] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        event = envelope.get_event()
        if event is not None:
            self.events.append(dict(event))


@pytest.fixture
def sentry_events() -> Iterator[list[dict[str, Any]]]:
    transport = MemoryTransport()
    assert init_sentry(load_settings(sentry_dsn=None), transport=transport)
    yield transport.events
    sentry_sdk.get_client().close(timeout=0)
    sentry_sdk.init(dsn=None)


class ExplodingSession:
    """A fault below the services: a bug, a driver crash — with personal data in its text."""

    def __init__(self, caller: Caller) -> None:
        self.caller = caller

    def execute(self, request: Request) -> Any:
        raise RuntimeError("driver crashed while writing ann@example.test from 203.0.113.7")


def test_sentry_is_off_without_a_dsn():
    assert init_sentry(load_settings(sentry_dsn=None)) is False


def test_an_unexpected_error_is_reported_with_the_user_id_and_no_personal_data(
    sentry_events, coach
):
    services = Services(ExplodingSession(Caller.user(coach.id, email=coach.email)))

    with request_scope("req-sentry-1"), pytest.raises(RuntimeError):
        services.clients.create(first_name="Ann", email="ann@example.test")

    [event] = sentry_events
    text = json.dumps(event, default=str)
    assert event["user"] == {"id": str(coach.id)}
    assert event["tags"]["request_id"] == "req-sentry-1"
    assert coach.email not in text and "ann@example.test" not in text
    assert "203.0.113.7" not in text
    assert "ip_address" not in text and "request" not in event


def test_a_database_fault_is_reported(sentry_events, pg, svc, coach):
    pg.admin.execute("drop view coach_dashboard")  # the contract is broken under our feet

    with pytest.raises(Exception, match="coach_dashboard"):
        svc.reads.dashboard()

    assert [e["tags"].get("error_key") for e in sentry_events] == ["undefined_table"]
    assert sentry_events[0]["user"] == {"id": str(coach.id)}


def test_expected_business_errors_are_not_reported(sentry_events, svc, single, ann):
    start = hours_from_now(24)
    svc.lessons.create(client_ids=[ann.id], start_time=start, lesson_type_id=single.id)

    with pytest.raises(DoubleBooking):
        svc.lessons.create(client_ids=[ann.id], start_time=start, lesson_type_id=single.id)
    with pytest.raises(NotFound):
        svc.clients.get(uuid.uuid4())

    assert sentry_events == []


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("backend.services")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(previous)


def test_a_success_is_not_logged_at_info(log_lines, svc):
    svc.clients.create(first_name="Ann")

    assert log_lines.getvalue() == ""


def test_every_service_call_logs_one_json_line_with_the_request_id_at_debug(log_lines, svc, coach):
    logging.getLogger("backend.services").setLevel(logging.DEBUG)
    with request_scope("req-log-1"):
        svc.clients.create(first_name="Ann")

    [line] = [json.loads(x) for x in log_lines.getvalue().splitlines()]
    assert (line["request_id"], line["user_id"], line["db_path"], line["outcome"]) == (
        "req-log-1",
        str(coach.id),
        "/clients",
        "ok",
    )


def test_a_refusal_is_logged_with_its_error_key(log_lines, svc):
    with request_scope("req-log-2"), pytest.raises(NotFound):
        svc.clients.update(uuid.uuid4(), first_name="Ghost")

    line = json.loads(log_lines.getvalue().splitlines()[-1])
    assert (line["outcome"], line["error_key"], line["request_id"]) == (
        "refused",
        "not_found",
        "req-log-2",
    )


def test_a_request_id_that_is_not_an_id_is_replaced(svc):
    with request_scope("bad id\nwith newline") as rid:
        assert rid != "bad id\nwith newline" and len(rid) == 32


def test_an_audit_entry_can_be_traced_to_its_request(pg, svc):
    """The request id travels in request.headers into the transaction that writes audit_log."""
    with request_scope("req-audit-42"):
        client = svc.clients.create(first_name="Ann")

    stored = pg.admin.execute(
        "select request_id from public.audit_log where table_name = 'clients' and record_id = %s",
        (str(client.id),),
    ).fetchall()
    assert stored == [("req-audit-42",)]


class FailingWriteSession:
    """A fault raised from the driver's error, as the gateways do (`raise … from exc`)."""

    def __init__(self, caller: Caller, pg: Any) -> None:
        self.caller = caller
        self.pg = pg

    def execute(self, request: Request) -> Any:
        with psycopg.connect(self.pg.url) as conn:
            conn.execute("create temp table t (a text, b int check (b > 0))")
            try:
                conn.execute("insert into t values (%s, %s)", FAILING_ROW)
            except psycopg.Error as exc:
                raise BackendError("the database failed", key="database_error") from exc
        raise AssertionError("the insert should have failed")  # pragma: no cover


def test_the_drivers_error_text_behind_a_fault_is_not_sent(sentry_events, coach, pg):
    services = Services(FailingWriteSession(Caller.user(coach.id), pg))

    with pytest.raises(BackendError) as caught:
        services.clients.create(first_name="Ann")

    assert "Failing row contains" in str(caught.value.__cause__)  # it was there to leak
    [event] = sentry_events
    text = json.dumps(event, default=str)
    assert [v["type"] for v in event["exception"]["values"]] == ["BackendError"]
    assert "Ann Smith" not in text and "7700 900123" not in text
    assert "Failing row" not in text and "CheckViolation" not in text


class DetailedExplodingSession(ExplodingSession):
    def execute(self, request: Request) -> Any:
        raise RuntimeError(
            "insert failed from 2001:db8::7 and fe80::1\n"
            "DETAIL:  Failing row contains (Ann Smith +44 7700 900123, -1)."
        )


def test_row_data_and_ipv6_addresses_in_a_faults_message_are_redacted(sentry_events, coach):
    services = Services(DetailedExplodingSession(Caller.user(coach.id)))

    with pytest.raises(RuntimeError):
        services.clients.create(first_name="Ann")

    [event] = sentry_events
    text = json.dumps(event, default=str)
    assert "insert failed" in text
    assert "2001:db8::7" not in text and "fe80::1" not in text
    assert "Ann Smith" not in text and "900123" not in text
