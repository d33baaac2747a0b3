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

Kind = Literal[
    "tenant", "tenant-append-only", "per-user", "service-only", "public-read", "membership"
]
KINDS: tuple[Kind, ...] = (
    "tenant",
    "tenant-append-only",
    "per-user",
    "service-only",
    "public-read",
    "membership",
)
# Who may do an operation on a table's rows: every signed-in user, the row's owner (or a
# member of its tenant), a member holding a role, trusted server code only, or nobody.
OPERATIONS = ("read", "write", "admin")
AUDIENCES = ("anon", "authenticated", "owner", "member", "service", "nobody")
# Kinds whose rows belong to one coach (or user) and must be isolated.
OWNED_KINDS: tuple[Kind, ...] = ("tenant", "tenant-append-only", "per-user")


class AuditConfigError(Exception):
    """`audit.toml` is unreadable or malformed; the message is one line."""


@dataclass(frozen=True)
class Membership:
    """`account_user(account_id, user_id, account_role)`: who belongs to which tenant."""

    table: str
    tenant: str
    user: str
    role: str | None = None


@dataclass(frozen=True)
class TableClass:
    """What a table is: its kind and the column naming its owner (None: no owner).

    A `membership` table's owner column holds a tenant's id, and a user owns the row when
    the membership table (or the predicate function) says it belongs to that tenant.
    `allowed` maps an operation (read, write, admin) to who may do it.
    """

    kind: Kind
    owner: str | None
    membership: Membership | None = None
    predicate: str | None = None
    allowed: tuple[tuple[str, str], ...] = ()

    def allows(self, operation: str) -> str | None:
        return dict(self.allowed).get(operation)

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

    def membership_tables(self) -> tuple[str, ...]:
        """The tables that say who belongs to which tenant ("schema.name")."""
        found = []
        for tc in self.tables.values():
            if tc.membership is not None:
                table = tc.membership.table
                found.append(table if "." in table else f"{self.schemas[0]}.{table}")
        return tuple(sorted(set(found)))

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
    membership = _membership(name, spec.get("membership"))
    predicate = spec.get("predicate")
    allowed = _allowed(name, spec)
    tenant = spec.get("tenant")
    if "kind" in spec:
        kind = str(spec["kind"])
    elif membership is not None or predicate is not None:
        kind = "membership"
    elif tenant is not None or "owner" in spec:
        kind = "tenant"
    else:
        kind = ""
    if kind not in KINDS:
        raise ValueError(f"[tables] {name}: kind {kind!r} is not one of {', '.join(KINDS)}")
    if kind == "membership" and membership is None and predicate is None:
        raise ValueError(f"[tables] {name}: a membership table names `membership` or `predicate`")
    if kind == "membership" and tenant is None:
        raise ValueError(f"[tables] {name}: a membership table names its `tenant` column")
    default_owner = {"per-user": "id", "tenant": tenant_column, "tenant-append-only": tenant_column}
    owner = tenant if kind == "membership" else spec.get("owner", tenant or default_owner.get(kind))
    return TableClass(
        kind,
        str(owner) if owner else None,
        membership,
        str(predicate) if predicate is not None else None,
        allowed,
    )


def _membership(name: str, spec: Any) -> Membership | None:
    if spec is None:
        return None
    spec = _table(spec, f"[tables] {name}: membership")
    missing = [k for k in ("table", "tenant", "user") if k not in spec]
    if missing:
        raise ValueError(f"[tables] {name}: membership lacks {', '.join(missing)}")
    role = spec.get("role")
    return Membership(
        str(spec["table"]), str(spec["tenant"]), str(spec["user"]), str(role) if role else None
    )


def _allowed(name: str, spec: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    found = []
    for operation in OPERATIONS:
        if operation not in spec:
            continue
        who = str(spec[operation])
        if who not in AUDIENCES and not who.startswith("role:"):
            raise ValueError(
                f"[tables] {name}: {operation} = {who!r} is not one of "
                f"{', '.join(AUDIENCES)} or role:<name>"
            )
        found.append((operation, who))
    return tuple(found)


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
