"""What no request may carry to the database, refused with the field it is in.

PostgreSQL can not store a NUL in text and psycopg can not encode a lone
surrogate; an id that is not a UUID ends as a type error on the server. Each
would surface as a driver exception (a 500) or as a database message that
names no field. Every service call passes its request through
`check_request` first, so each of these is a `ValidationError` naming the
field, decided before the database, the same through either gateway.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from backend.errors import ValidationError, echo
from backend.gateway.base import Delete, Idempotent, Insert, Request, Rpc, Select, Update
from backend.models import TIME_RANGE_TEXT, in_time_range

# The fields whose values are row ids (UUIDs), one id or a list of them. Stripe's own
# ids (`stripe_account_id`, `checkout_session_id`, …) are text and not in the list.
ID_FIELDS = frozenset(
    {
        "id",
        "coach_id",
        "client_id",
        "lesson_id",
        "lesson_type_id",
        "recurring_lesson_id",
        "payment_id",
        "participant_id",
        "user_id",
    }
)
ID_LIST_FIELDS = frozenset({"client_ids", "participant_ids", "absent_client_ids"})


def check_request(request: Request) -> None:
    """Raise `ValidationError` for the first value no database call may carry."""
    for field, value in _values(request):
        _check(field, value)


def _values(request: Request) -> Iterator[tuple[str, Any]]:
    match request:
        case Idempotent(write=write):
            yield from _values(write)
        case Rpc(params=params):
            for name, value in params.items():
                yield name.removeprefix("p_"), value
        case Insert(values=row) | Update(values=row):
            yield from row.items()
    match request:
        case Select(filters=filters) | Update(filters=filters) | Delete(filters=filters):
            for f in filters:
                if f.op == "in":
                    yield from ((f.column, value) for value in f.value)
                else:
                    yield f.column, f.value
    if isinstance(request, Select) and request.after is not None:
        yield "cursor", list(request.after)


def _check(field: str, value: Any) -> None:
    if field in ID_FIELDS:
        _check_id(field, value)
    elif field in ID_LIST_FIELDS and isinstance(value, Sequence) and not isinstance(value, str):
        for item in value:
            _check_id(field, item)
    elif isinstance(value, str):
        _check_text(field, value)
    elif isinstance(value, datetime):
        _check_time(field, value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check(f"{field}.{key}", item)
            _check_text(field, str(key))
    elif isinstance(value, Sequence | set | frozenset):
        for item in value:
            _check(field, item)


def _refuse(field: str, message: str, key: str) -> ValidationError:
    return ValidationError(f"{echo(field)}: {message}", key=key, fields={field: message})


def _check_text(field: str, value: str) -> None:
    if "\x00" in value:
        raise _refuse(field, "must not contain a NUL character", "invalid_text")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _refuse(field, "is not valid Unicode (a lone surrogate)", "invalid_text") from None


def _check_id(field: str, value: Any) -> None:
    if value is None or isinstance(value, UUID):
        return
    if isinstance(value, str):
        _check_text(field, value)
        try:
            UUID(value)
        except ValueError:
            raise _refuse(field, f"is not an id: {echo(value)!r}", "invalid_id") from None
        return
    raise _refuse(field, f"must be a UUID, not {type(value).__name__}", "invalid_id")


def _check_time(field: str, value: datetime) -> None:
    if value.tzinfo is not None and not in_time_range(value):
        raise _refuse(field, f"must be {TIME_RANGE_TEXT}", "time_out_of_range")
