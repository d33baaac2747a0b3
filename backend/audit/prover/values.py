"""Plausible values for a column, from its type, its name and its check constraints."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any

from psycopg import sql

from backend.audit.prover.shapes import Column

# Far enough in the past that every generated lesson has started (and so
# shows in history views), one day apart per row so they never overlap.
_EPOCH = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(
    days=2000
)


# a column naming a role, and the labels that make whoever holds them privileged: a generated
# row never makes a test user an administrator by accident
_ROLE_COLUMN = re.compile(r"(^|_)(role|roles|level|rank|tier)$")
_PRIVILEGED = re.compile(r"admin|owner|super|root|moderator|manager|staff|editor", re.IGNORECASE)


class PrivilegedOnly(ValueError):
    """Every value of a role column would make the row's user privileged."""


def least_privileged(labels: tuple[str, ...]) -> str:
    """The first label that grants nothing special (`member`)."""
    for label in labels:
        if not _PRIVILEGED.search(label):
            return label
    raise PrivilegedOnly(
        f"every role ({', '.join(labels)}) would make a test user privileged, none is generated"
    )


def literal(value: Any, type_: str) -> sql.Composable:
    """`value` as an SQL literal cast to `type_` (None is NULL)."""
    if value is None:
        return sql.SQL("null::{}").format(sql.SQL(type_))
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dict | list):
        text = json.dumps(value)
    else:
        text = str(value)
    return sql.SQL("{}::{}").format(sql.Literal(text), sql.SQL(type_))


def generate(column: Column, seq: int, choices: tuple[str, ...] = ()) -> Any:
    """A value for `column` in generated row number `seq` (unique where uniqueness matters)."""
    name = column.name.lower()
    base = column.base_type
    options = column.labels or choices
    if options and _ROLE_COLUMN.search(name):
        return least_privileged(options)
    if options:
        return options[seq % len(options)]  # every label in turn: unique keys over it hold
    if column.category == "S" or base in ("text", "citext"):
        if "email" in name:
            return f"audit{seq}@example.test"
        if name in ("timezone", "time_zone", "tz"):
            return "UTC"
        if name == "currency":
            return "usd"
        if "phone" in name:
            return f"+1555{seq:07d}"
        return f"audit {seq}"
    if base == "uuid":
        return str(uuid.uuid4())
    if column.category == "N":
        return 1
    if column.category == "B":
        return False
    if base.startswith("timestamp"):
        return (_EPOCH + dt.timedelta(days=seq, hours=column.attnum % 24)).isoformat()
    if base == "date":
        return (_EPOCH + dt.timedelta(days=seq + 1)).date().isoformat()
    if base.startswith("time"):
        return "10:00"
    if base == "interval":
        return "1 hour"
    if base in ("json", "jsonb"):
        return {}
    if column.category == "A":
        return "{}"
    if base == "bytea":
        return "\\x00"
    if base in ("inet", "cidr"):
        return "127.0.0.1"
    return None
