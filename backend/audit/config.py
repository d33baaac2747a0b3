"""`audit.toml`: how each exposed table is classified, fixture overrides, suppressions.

One committed file at the project root is the single place where a table that
is not tenant-owned by its `coach_id` column gets declared, and where a finding
can be silenced (always with a reason).
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from backend.audit.findings import Level

Kind = Literal["tenant", "tenant-append-only", "per-user", "service-only", "public-read"]
KINDS: tuple[Kind, ...] = (
    "tenant",
    "tenant-append-only",
    "per-user",
    "service-only",
    "public-read",
)
# Kinds whose rows belong to one coach (or user) and must be isolated.
OWNED_KINDS: tuple[Kind, ...] = ("tenant", "tenant-append-only", "per-user")


class AuditConfigError(Exception):
    """`audit.toml` is unreadable or malformed; the message is one line."""


@dataclass(frozen=True)
class TableClass:
    """What a table is: its kind and the column naming its owner (None: no owner)."""

    kind: Kind
    owner: str | None

    @property
    def owned(self) -> bool:
        return self.kind in OWNED_KINDS


@dataclass(frozen=True)
class Suppression:
    rule: str
    object: str
    reason: str
    expires: dt.date | None = None

    def matches(self, rule: str, obj: str) -> bool:
        return self.rule in (rule, "*") and self.object in (obj, "*")


@dataclass(frozen=True)
class AuditConfig:
    schemas: tuple[str, ...] = ("public",)
    tenant_column: str = "coach_id"
    tables: dict[str, TableClass] = field(default_factory=dict)
    levels: dict[str, Level] = field(default_factory=dict)
    fixtures: dict[str, dict[str, str]] = field(default_factory=dict)
    functions: dict[str, dict[str, str]] = field(default_factory=dict)
    suppressions: tuple[Suppression, ...] = ()
    path: Path | None = None

    def declared(self, table: str) -> TableClass | None:
        """The declared class of `table` ("schema.name" or bare "name" in the first schema)."""
        schema, _, name = table.rpartition(".")
        found = self.tables.get(table)
        if found is None and schema == self.schemas[0]:
            found = self.tables.get(name)
        return found


CONFIG_NAME = "audit.toml"


def describe_defaults() -> str:
    """What the audit assumes without a configuration file, in one line."""
    d = AuditConfig()
    return (
        f"schemas {', '.join(d.schemas)} (and those PostgREST serves); a table with a "
        f"{d.tenant_column} column is owned by the user whose id it holds; every other table "
        "is unclassified; no suppressions"
    )


def load_config(path: Path | None) -> AuditConfig:
    """Read `path`; a missing file means defaults (every non-tenant table undeclared)."""
    if path is None or not path.exists():
        return AuditConfig(path=path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise AuditConfigError(f"{path}: {exc}") from None
    try:
        return _parse(data, path)
    except (TypeError, ValueError, KeyError) as exc:
        raise AuditConfigError(f"{path}: {exc}") from None


def _parse(data: dict[str, Any], path: Path) -> AuditConfig:
    audit = _table(data.get("audit", {}), "[audit]")
    schemas = tuple(str(s) for s in audit.get("schemas", ["public"]))
    if not schemas:
        raise ValueError("[audit] schemas must name at least one schema")
    tenant_column = str(audit.get("tenant_column", "coach_id"))
    tables = {
        str(name): _table_class(str(name), spec, tenant_column)
        for name, spec in _table(data.get("tables", {}), "[tables]").items()
    }
    levels = {
        str(rule): Level.parse(str(level))
        for rule, level in _table(data.get("levels", {}), "[levels]").items()
    }
    return AuditConfig(
        schemas=schemas,
        tenant_column=tenant_column,
        tables=tables,
        levels=levels,
        fixtures=_expressions(data.get("fixtures", {}), "fixtures"),
        functions=_expressions(data.get("functions", {}), "functions"),
        suppressions=tuple(_suppression(i, s) for i, s in enumerate(data.get("suppress", []))),
        path=path,
    )


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{where} must be a table")
    return cast(dict[str, Any], value)


def _table_class(name: str, spec: Any, tenant_column: str) -> TableClass:
    if isinstance(spec, str):
        spec = {"kind": spec}
    spec = _table(spec, f"[tables] {name}")
    kind = str(spec.get("kind", ""))
    if kind not in KINDS:
        raise ValueError(f"[tables] {name}: kind {kind!r} is not one of {', '.join(KINDS)}")
    default_owner = {"per-user": "id", "tenant": tenant_column, "tenant-append-only": tenant_column}
    owner = spec.get("owner", default_owner.get(kind))
    return TableClass(kind, str(owner) if owner else None)


def _expressions(value: Any, where: str) -> dict[str, dict[str, str]]:
    return {
        str(obj): {str(col): str(expr) for col, expr in _table(cols, f"[{where}.{obj}]").items()}
        for obj, cols in _table(value, f"[{where}]").items()
    }


def _suppression(index: int, spec: Any) -> Suppression:
    spec = _table(spec, f"[[suppress]] #{index + 1}")
    expires = spec.get("expires")
    if isinstance(expires, str):
        expires = dt.date.fromisoformat(expires)
    if isinstance(expires, dt.datetime):
        expires = expires.date()
    if expires is not None and not isinstance(expires, dt.date):
        raise ValueError(f"[[suppress]] #{index + 1}: expires must be a date")
    return Suppression(
        rule=str(spec.get("rule", "")),
        object=str(spec.get("object", "")),
        reason=str(spec.get("reason", "")).strip(),
        expires=expires,
    )
