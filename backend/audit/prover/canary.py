"""Canaries: victim values nobody else holds, and the values an attacker forges to collide.

Every row generated for the victim gets a recognisable value in every column
that can take one (text, numbers, json; enums get a row per label), so that a leak
is seen in whatever shape it reaches the attacker: a row, an RPC result, an
error message. The attacker, in turn, is built to collide with the victim
wherever a policy might compare: its token carries the victim's e-mail and
user metadata (both of which a user can set), every request header the
schema reads carries the victim's id, and the attacker rewrites its own
writable columns to the victim's values. A canary is a victim value the
attacker does not hold after all that, so finding one in what the attacker
reads is a leak, never an echo of the attacker's own input.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg

from backend.audit.prover.shapes import Column

# The smallest text recognisable as a canary: shorter text turns up by chance.
MIN_TEXT = 8
# The numbers `canary_value` gives (smallint, then the rest): anything else, a
# sequence's value or a count, is nobody's secret; matched as whole numbers.
CANARY_NUMBERS = (range(20_000, 32_768), range(7_000_000, 8_000_000))

_INT_BASES = ("smallint", "integer", "bigint", "numeric", "real", "double precision")
_TEXT_BASES = ("text", "character varying", "character", "citext")

# Every expression an attacker's request can reach: policies, view and function bodies.
_SOURCES = """
select pg_catalog.pg_get_expr(p.polqual, p.polrelid) from pg_catalog.pg_policy p
union all
select pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) from pg_catalog.pg_policy p
union all
select p.prosrc from pg_catalog.pg_proc p
join pg_catalog.pg_namespace n on n.oid = p.pronamespace
where n.nspname not in ('pg_catalog', 'information_schema')
union all
select pg_catalog.pg_get_viewdef(c.oid) from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('v', 'm') and n.nspname not in ('pg_catalog', 'information_schema')
"""
# `-> 'name'` or `->> 'name'`: a key read out of a json value
_KEY = re.compile(r"->>?\s*'([A-Za-z0-9_.-]+)'")


def canary_value(column: Column, token: str, seq: int) -> Any:
    """A recognisable value for `column` of victim row `seq`, or None where none fits."""
    if not column.writable or column.category == "A":
        return None
    name = column.name.lower()
    stamp = f"{token}{seq}x{column.attnum}"
    if column.labels:
        return None  # every label gets a victim row of its own (adversary.Scene.every_label)
    if column.base_type in _TEXT_BASES or column.category == "S":
        if "email" in name:
            return f"{stamp}@canary.test"
        if "phone" in name:
            return f"+1999{seq:05d}{column.attnum:03d}"
        return stamp
    if column.base_type == "smallint":
        return 20_000 + seq * 10 + column.attnum % 10
    if column.base_type in _INT_BASES:
        return 7_000_000 + seq * 1000 + column.attnum
    if column.base_type in ("json", "jsonb"):
        return {"canary": stamp}
    return None


def scalars(value: Any) -> Iterator[str]:
    """Every scalar inside a json value, as text."""
    if isinstance(value, dict):
        for item in value.values():
            yield from scalars(item)
    elif isinstance(value, list):
        for item in value:
            yield from scalars(item)
    elif value is not None and not isinstance(value, bool):
        yield str(value)


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def recognisable(text: str, token: str) -> bool:
    """A canary, an id or a large number: never a label or a word anyone may hold."""
    if text.isdigit():
        return any(int(text) in numbers for numbers in CANARY_NUMBERS)
    return (token in text and len(text) >= MIN_TEXT) or bool(_UUID.match(text))


_NUMBER = re.compile(r"(?<![0-9.])[0-9]+(?![0-9])")


@dataclass
class Canaries:
    """The victim's recognisable values and where each came from ("table.column")."""

    origin: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        token: str,
        victim_rows: Iterable[tuple[str, dict[str, Any]]],
        attacker_rows: Iterable[tuple[str, dict[str, Any]]],
        attacker_holds: Iterable[str] = (),
    ) -> Canaries:
        held = set(attacker_holds)
        for _, row in attacker_rows:
            held.update(scalars(row))
        # found by substring, so excluded by substring: a value inside one the attacker holds
        held_text = "\n".join(held)
        origin: dict[str, str] = {}
        for table, row in victim_rows:
            for column, value in row.items():
                for text in scalars(value):
                    if text not in held_text and recognisable(text, token):
                        origin.setdefault(text, f"{table}.{column}")
        return cls(origin)

    def found(self, text: str) -> list[str]:
        """The canaries in `text`, longest first (a uuid before a number inside it)."""
        if not text:
            return []
        numbers = set(_NUMBER.findall(text)) if any(c.isdigit() for c in self.origin) else set()
        hits = (c for c in self.origin if (c in numbers if c.isdigit() else c in text))
        return sorted(hits, key=lambda c: (-len(c), c))

    def describe(self, text: str) -> str | None:
        """`canary 'x' (from table.column)` for the first canary in `text`, or None."""
        hits = self.found(text)
        if not hits:
            return None
        more = f" and {len(hits) - 1} more" if len(hits) > 1 else ""
        return f"canary {hits[0]!r} (coach B's {self.origin[hits[0]]}){more}"


@dataclass(frozen=True)
class AttackerInputs:
    """What the schema reads from a request that the attacker controls, by name."""

    headers: frozenset[str] = frozenset()
    metadata_keys: frozenset[str] = frozenset()
    reads_method: bool = False

    @classmethod
    def read(cls, conn: psycopg.Connection[Any]) -> AttackerInputs:
        headers: set[str] = set()
        keys: set[str] = set()
        method = False
        for (source,) in conn.execute(_SOURCES):
            if not source:
                continue
            if "request.headers" in source:
                headers.update(k.lower() for k in _KEY.findall(source))
            if "user_metadata" in source:
                keys.update(_KEY.findall(source))
            method = method or "request.method" in source
        keys.discard("user_metadata")
        return cls(frozenset(headers), frozenset(keys), method)

    def forged_headers(self, victim_id: str) -> dict[str, str]:
        return {name: victim_id for name in sorted(self.headers)}

    def forged_metadata(self, victim_metadata: dict[str, Any], victim_id: str) -> dict[str, Any]:
        """The victim's own metadata, and the victim's id under every key the schema reads."""
        return {**{key: victim_id for key in sorted(self.metadata_keys)}, **victim_metadata}


def as_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
