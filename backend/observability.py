"""Structured logs, request ids and Sentry: how a call can be followed and a fault reported.

A request id is set once per incoming request (`request_scope`), appears in
every log line written while it is handled, and travels into the database as
the `x-request-id` header of `request.headers` (both gateways send it), so an
audit-log entry written by a trigger can be traced back to its request.

Sentry is used only when SENTRY_DSN is set. Events carry the user id and the
request id, never an e-mail, a name, an IP address, headers, cookies or local
variables; expected business errors (a refused request) are never sent.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import sentry_sdk
from sentry_sdk.transport import Transport
from sentry_sdk.types import Event, Hint

from backend.config import Settings
from backend.errors import BackendError

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "x-request-id"
_request_id: ContextVar[str | None] = ContextVar("backend_request_id", default=None)
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def new_request_id() -> str:
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    return _request_id.get()


@contextmanager
def request_scope(request_id: str | None = None) -> Iterator[str]:
    """Everything inside runs under this request id (a fresh one when none or a bad one given).

    An incoming id is kept only when it looks like an id, so a client can not
    smuggle arbitrary text into logs and the audit trail.
    """
    rid = request_id if request_id and _SAFE_REQUEST_ID.match(request_id) else new_request_id()
    token = _request_id.set(rid)
    try:
        yield rid
    finally:
        _request_id.reset(token)


def request_headers(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The headers a database call carries: the request id, plus any given."""
    headers = dict(extra or {})
    rid = current_request_id()
    if rid:
        headers[REQUEST_ID_HEADER] = rid
    return headers


# --- logging -----------------------------------------------------------------------------


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record, so any formatter can print it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True


_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and any `extra`."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is now (test runners and daemons replace it)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(level: str = "INFO", *, json_lines: bool = True) -> None:
    """Log to stderr with the request id on every line; idempotent."""
    root = logging.getLogger()
    root.setLevel(level)
    for handler in root.handlers:
        if getattr(handler, "_backend", False):
            return
    handler = _StderrHandler()
    handler._backend = True  # type: ignore[attr-defined]
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        JsonFormatter()
        if json_lines
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
    )
    root.addHandler(handler)


def reset_logging() -> None:
    """Remove what `configure_logging` installed (for tests and embedding applications)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_backend", False):
            root.removeHandler(handler)


# --- Sentry ------------------------------------------------------------------------------


def init_sentry(settings: Settings, *, transport: Transport | None = None) -> bool:
    """Start Sentry when SENTRY_DSN is set (or a test transport is given); False otherwise."""
    if not settings.sentry_dsn and transport is None:
        return False
    sentry_sdk.init(
        dsn=settings.sentry_dsn or "https://public@sentry.invalid/1",
        environment=settings.sentry_environment,
        transport=transport,
        data_collection={
            "user_info": False,
            "http_bodies": [],
            "database_query_data": False,
            "stack_frame_variables": False,
        },
        include_local_variables=False,
        max_request_body_size="never",
        before_send=_before_send,
        default_integrations=False,
        integrations=[],
        traces_sample_rate=0.0,
    )
    return True


def is_expected(exc: BaseException) -> bool:
    """A refused request (validation, not found, conflict, rate limit…), not a fault."""
    return isinstance(exc, BackendError) and exc.expected


def report_unexpected(exc: BaseException, *, user_id: str | None) -> None:
    """Send a fault to Sentry with the user id and request id; expected errors are ignored."""
    if is_expected(exc):
        return
    with sentry_sdk.new_scope() as scope:
        if user_id:
            scope.set_user({"id": user_id})
        rid = current_request_id()
        if rid:
            scope.set_tag("request_id", rid)
        if isinstance(exc, BackendError):
            scope.set_tag("error_key", exc.key)
            if exc.sqlstate:
                scope.set_tag("sqlstate", exc.sqlstate)
        sentry_sdk.capture_exception(exc)


def _before_send(event: Event, hint: Hint) -> Event | None:
    exc_info = hint.get("exc_info")
    if exc_info and is_expected(exc_info[1]):
        return None
    return scrub(event)


_EMAIL = re.compile(r"[^@\s\"'<>]+@[^@\s\"'<>]+\.[A-Za-z]{2,}")
_IPV4_TEXT = r"(?:\d{1,3}\.){3}\d{1,3}"
_IPV4 = re.compile(rf"\b{_IPV4_TEXT}\b")
_H = r"[0-9A-Fa-f]{1,4}"
_IPV6 = re.compile(
    rf"(?<![\w:.])(?:(?:{_H}:){{7}}{_H}"  # the full form, or a compressed one (with "::")
    rf"|(?:{_H}(?::{_H}){{0,6}})?::(?:(?:{_H}:){{0,5}}(?:{_IPV4_TEXT}|{_H}))?)(?![\w:.])"
)
# What the server says about the data of a failing statement: the row, the key, the values.
_DETAIL = re.compile(r"^\s*DETAIL:.*$", re.MULTILINE)
_ROW_DATA = re.compile(r"(Failing row contains|Key|Array value|Token)\s*\(.*$", re.MULTILINE)


def _redact(text: str) -> str:
    text = _DETAIL.sub("DETAIL: [redacted]", text)
    text = _ROW_DATA.sub(r"\1 [redacted]", text)
    text = _IPV6.sub(lambda m: m.group() if m.group() == "::" else "[ip]", text)
    return _IPV4.sub("[ip]", _EMAIL.sub("[email]", text))


def _top_exception(values: list[Any]) -> list[Any]:
    """Only the exception raised, not its causes: a driver's error text holds row data."""
    if len(values) <= 1:
        return values
    for value in values:
        if (value.get("mechanism") or {}).get("exception_id") == 0:
            value["mechanism"].pop("parent_id", None)
            return [value]
    return [values[-1]]  # Sentry lists the chain innermost first


def scrub(event: Event) -> Event:
    """Keep only the user id and the top exception; drop request data, row data, e-mails, IPs."""
    user = event.get("user") or {}
    event["user"] = {"id": user["id"]} if user.get("id") else {}
    for key in ("request", "server_name", "breadcrumbs", "extra", "modules"):
        event.pop(key, None)  # type: ignore[misc]
    exceptions = event.get("exception") or {}
    if exceptions.get("values"):
        exceptions["values"] = _top_exception(list(exceptions["values"]))
    for exception in exceptions.get("values", []):
        if exception.get("value"):
            exception["value"] = _redact(str(exception["value"]))
        for frame in (exception.get("stacktrace") or {}).get("frames", []):
            frame.pop("vars", None)
            for key in ("pre_context", "post_context"):
                frame[key] = [_redact(str(line)) for line in frame.get(key) or []]
            if frame.get("context_line"):
                frame["context_line"] = _redact(str(frame["context_line"]))
    if isinstance(event.get("message"), str):
        event["message"] = _redact(str(event["message"]))
    logentry = event.get("logentry")
    if isinstance(logentry, dict):
        for key in ("message", "formatted"):
            if isinstance(logentry.get(key), str):
                logentry[key] = _redact(logentry[key])
        logentry.pop("params", None)
    return event
