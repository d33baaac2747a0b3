"""What every service shares: input parsing, rate limits, running one operation, reporting.

A service method builds an `Operation` (pure: validated input turned into a
gateway request, plus how to parse the answer and which rate limit applies)
and runs it through `SyncService._call` or `AsyncService._call`. So each rule
of "how a call is made" lives here once, for both the sync and async APIs.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Generic, Literal, Protocol, TypeVar

import pydantic

from backend.errors import BackendError, ContractError, ValidationError
from backend.gateway.base import (
    MAX_KEY_LENGTH,
    AsyncSession,
    Caller,
    Idempotent,
    Request,
    Select,
    Session,
    describe,
)
from backend.gateway.guard import check_request
from backend.models import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page
from backend.observability import report_unexpected

log = logging.getLogger("backend.services")

T = TypeVar("T")
M = TypeVar("M", bound=pydantic.BaseModel)
PolicyName = Literal["auth", "payment", "lesson"]


class Limiter(Protocol):
    """What services need of `backend.ratelimit.RateLimiter`."""

    def enforce(self, policy: PolicyName, identifier: str) -> Any: ...

    async def aenforce(self, policy: PolicyName, identifier: str) -> Any: ...


def parse_input(model: type[M], data: M | Mapping[str, Any] | None = None, **fields: Any) -> M:
    """`data` (a model, a mapping or keyword fields) as `model`, else a field-level error."""
    if isinstance(data, model) and not fields:
        return data
    raw: dict[str, Any] = {}
    if isinstance(data, pydantic.BaseModel):
        raw.update(data.model_dump(exclude_unset=True))
    elif data is not None:
        raw.update(data)
    raw.update(fields)
    try:
        return model.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise validation_error(exc) from None


def validation_error(exc: pydantic.ValidationError) -> ValidationError:
    """One message per field, keyed by its dotted path (`__root__` for whole-input rules)."""
    fields: dict[str, str] = {}
    for error in exc.errors():
        path = ".".join(str(p) for p in error["loc"]) or "__root__"
        fields.setdefault(path, str(error["msg"]).removeprefix("Value error, "))
    summary = "; ".join(f"{k}: {v}" for k, v in fields.items())
    return ValidationError(f"invalid input: {summary}", key="validation_failed", fields=fields)


def parse_row(model: type[M], row: Any) -> M:
    try:
        return model.model_validate(row)
    except pydantic.ValidationError as exc:
        raise ContractError(
            f"the database answered a {model.__name__} this code can not read: {exc.errors()[0]}"
        ) from exc


def parse_rows(model: type[M], rows: Any) -> list[M]:
    return [parse_row(model, row) for row in rows or []]


MAX_CURSOR_LENGTH = 4096


def encode_cursor(position: Sequence[Any]) -> str:
    """An opaque cursor for a keyset position (the last row's order values)."""
    raw = json.dumps(list(position), default=str, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, width: int) -> list[Any]:
    """The keyset position of a cursor made by `encode_cursor` for an order of `width` columns."""
    if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_LENGTH:
        raise ValidationError("cursor is not one this list made", fields={"cursor": "invalid"})
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = json.loads(raw)
    except (ValueError, binascii.Error):
        position = None
    if not isinstance(position, list) or len(position) != width:
        raise ValidationError("cursor is not one this list made", fields={"cursor": "invalid"})
    if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in position):
        raise ValidationError("cursor is not one this list made", fields={"cursor": "invalid"})
    return position


def check_page_size(limit: int) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE_SIZE:
        message = f"must be between 1 and {MAX_PAGE_SIZE}"
        raise ValidationError(f"limit {message}", fields={"limit": message})
    return limit


@dataclass(frozen=True)
class Operation(Generic[T]):
    """One service call: the request, how to read the answer, the rate limit it counts against."""

    request: Request
    parse: Callable[[Any], T]
    limit: PolicyName | None = None


def with_idempotency_key(operation: Operation[T], key: str | None) -> Operation[T]:
    """The operation done at most once per `key` (None: as it is). A read takes no key."""
    if key is None:
        return operation
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationError(
            "invalid idempotency key",
            fields={"idempotency_key": f"must be 1 to {MAX_KEY_LENGTH} printable characters"},
        )
    request = operation.request
    if isinstance(request, Select | Idempotent):
        raise ValidationError(
            "only a write takes an idempotency key",
            fields={"idempotency_key": "not accepted by a read"},
        )
    return Operation(Idempotent(request, key), operation.parse, operation.limit)


def page_of(
    model: type[M],
    select: Select,
    *,
    limit: int = DEFAULT_PAGE_SIZE,
    cursor: str | None = None,
) -> Operation[Page[M]]:
    """One page of `select` (which must be ordered by columns that together are unique).

    One row more than the page is asked for: its presence says whether there
    is a next page, without a count.
    """
    check_page_size(limit)
    order = tuple(select.order)
    after = decode_cursor(cursor, len(order)) if cursor else None
    request = replace(select, limit=limit + 1, after=after)

    def parse(raw: Any) -> Page[M]:
        rows = list(raw or [])
        items = parse_rows(model, rows[:limit])
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = encode_cursor([_cursor_value(last[o.column]) for o in order])
        return Page(items=items, next_cursor=next_cursor)

    return Operation(request, parse)


def _cursor_value(value: Any) -> str | int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def rate_limit_identifier(caller: Caller) -> str | None:
    """Whose budget a call counts against; None: the caller is not rate-limited.

    - service_role (administrative sessions: webhooks, jobs) is trusted server
      code, not a user: it is never throttled by the per-user limits;
    - a signed-in user counts against its own user id;
    - an anonymous caller shares one budget. Every rate-limited operation (lesson
      and payment writes) is one the database refuses `anon` anyway, so the shared
      budget only bounds how fast such refused calls come, and no trusted or
      signed-in caller ever shares it.
    """
    if caller.role == "service_role":
        return None
    return caller.user_id or "anonymous"


class SyncService:
    def __init__(self, session: Session, limiter: Limiter | None = None) -> None:
        self._session = session
        self._limiter = limiter

    def _call(self, operation: Operation[T], idempotency_key: str | None = None) -> T:
        operation = with_idempotency_key(operation, idempotency_key)
        check_request(operation.request)
        caller = self._session.caller
        user_id = caller.user_id
        identifier = rate_limit_identifier(caller)
        if operation.limit and self._limiter is not None and identifier is not None:
            self._limiter.enforce(operation.limit, identifier)
        began = time.perf_counter()
        try:
            raw = self._session.execute(operation.request)
            result = operation.parse(raw)
        except Exception as exc:
            _log_outcome(operation.request, user_id, began, exc)
            report_unexpected(exc, user_id=user_id)
            raise
        _log_outcome(operation.request, user_id, began, None)
        return result


class AsyncService:
    def __init__(self, session: AsyncSession, limiter: Limiter | None = None) -> None:
        self._session = session
        self._limiter = limiter

    async def _call(self, operation: Operation[T], idempotency_key: str | None = None) -> T:
        operation = with_idempotency_key(operation, idempotency_key)
        check_request(operation.request)
        caller = self._session.caller
        user_id = caller.user_id
        identifier = rate_limit_identifier(caller)
        if operation.limit and self._limiter is not None and identifier is not None:
            await self._limiter.aenforce(operation.limit, identifier)
        began = time.perf_counter()
        try:
            raw = await self._session.execute(operation.request)
            result = operation.parse(raw)
        except Exception as exc:
            _log_outcome(operation.request, user_id, began, exc)
            report_unexpected(exc, user_id=user_id)
            raise
        _log_outcome(operation.request, user_id, began, None)
        return result


def _log_outcome(
    request: Request, user_id: str | None, began: float, exc: BaseException | None
) -> None:
    method, path = describe(request)
    extra: dict[str, Any] = {
        "db_method": method,
        "db_path": path,
        "user_id": user_id,
        "duration_ms": round((time.perf_counter() - began) * 1000, 2),
    }
    if exc is None:
        log.debug("%s %s ok", method, path, extra={**extra, "outcome": "ok"})
    elif isinstance(exc, BackendError) and exc.expected:
        extra.update(outcome="refused", error_key=exc.key, sqlstate=exc.sqlstate)
        log.info("%s %s refused: %s", method, path, exc.key, extra=extra)
    else:
        extra.update(outcome="failed", error=type(exc).__name__)
        log.error("%s %s failed: %s", method, path, type(exc).__name__, extra=extra)
