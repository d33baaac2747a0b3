"""The small interface every service is written against, whichever way the database is reached.

A service describes what it wants as a request (an RPC call, a select, an
insert, an update or a delete, as plain data) and hands it to a `Session`: the
gateway bound to one caller for one request. Both gateways execute the same
requests with the same meaning:

- each request is one transaction, run as the caller (row level security applies);
- rows come back as mappings of column name to value, parsed by the service into models;
- an update or delete that touched no row raises `NotFound`, never returns quietly;
- every database error is raised as the typed error of `backend.errors`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeAlias
from uuid import UUID

from backend.auth import VerifiedToken
from backend.config import Settings
from backend.db.impersonation import RESERVED_CLAIMS, Principal
from backend.errors import BackendError, Unauthenticated

Row: TypeAlias = Mapping[str, Any]
Operator = Literal["eq", "neq", "gt", "gte", "lt", "lte", "in", "is"]
Returns = Literal["row", "rows", "scalar"]


@dataclass(frozen=True)
class SessionTimeouts:
    """`statement_timeout` and `lock_timeout` of every transaction, by kind of caller.

    User requests (anon, authenticated) get the short ones; service_role work
    (webhooks, jobs, administrative services) the longer ones. A lock held
    longer than the lock timeout ends the call with `Unavailable`
    (lock_not_available), a statement running longer with `Unavailable`
    (query_canceled): both retryable.
    """

    user_statement_seconds: float = 8.0
    user_lock_seconds: float = 3.0
    service_statement_seconds: float = 30.0
    service_lock_seconds: float = 5.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionTimeouts:
        return cls(
            settings.user_statement_timeout_seconds,
            settings.user_lock_timeout_seconds,
            settings.service_statement_timeout_seconds,
            settings.service_lock_timeout_seconds,
        )

    def for_role(self, role: str) -> list[tuple[str, str]]:
        """The two settings, as `set_config` takes them, for a caller of `role`."""
        if role == "service_role":
            statement, lock = self.service_statement_seconds, self.service_lock_seconds
        else:
            statement, lock = self.user_statement_seconds, self.user_lock_seconds
        return [
            ("statement_timeout", f"{round(statement * 1000)}ms"),
            ("lock_timeout", f"{round(lock * 1000)}ms"),
        ]


@dataclass(frozen=True)
class Filter:
    """`column <op> value`; `in` takes a sequence, `is` takes None, True or False."""

    column: str
    op: Operator
    value: Any


def eq(column: str, value: Any) -> Filter:
    return Filter(column, "eq", value)


@dataclass(frozen=True)
class Order:
    column: str
    descending: bool = False


@dataclass(frozen=True)
class Rpc:
    """Call `public.<function>` with named parameters, as PostgREST's `POST /rpc/<function>`."""

    function: str
    params: Mapping[str, Any]
    returns: Returns = "row"


@dataclass(frozen=True)
class Select:
    """Read rows of a table or view; `single` turns "no row" into `NotFound`.

    Without a limit every row comes back, through either gateway (the Supabase
    one reads past PostgREST's row cap page by page, in this order: end the
    order with a unique column so that pages neither repeat nor skip a row).

    `after` (one value per `order` column) keeps only the rows that come
    strictly after that position in the order: keyset pagination.
    """

    table: str
    filters: Sequence[Filter] = ()
    order: Sequence[Order] = ()
    limit: int | None = None
    single: bool = False
    after: Sequence[Any] | None = None


@dataclass(frozen=True)
class Insert:
    table: str
    values: Mapping[str, Any]


@dataclass(frozen=True)
class Update:
    """Change the matching rows and return them; no matching row is `NotFound`."""

    table: str
    values: Mapping[str, Any]
    filters: Sequence[Filter]


@dataclass(frozen=True)
class Delete:
    """Delete the matching rows and return them; no matching row is `NotFound`."""

    table: str
    filters: Sequence[Filter]


Write: TypeAlias = Rpc | Insert | Update | Delete

IDEMPOTENT_WRITE = "idempotent_write"
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Idempotent:
    """A write done at most once per idempotency key of its caller.

    Both gateways send it as one call of `public.idempotent_write`, which
    claims the key, runs the write and stores its result in one transaction:
    a retry with the same key and the same write answers the first result and
    writes nothing; the same key with another write is `IdempotencyMismatch`.
    """

    write: Write
    key: str

    def as_rpc(self) -> Rpc:
        """The `idempotent_write` call that carries this write; it answers a JSON array."""
        return Rpc(
            IDEMPOTENT_WRITE,
            {"p_key": self.key, "p_write": write_description(self.write)},
            returns="scalar",
        )


Request: TypeAlias = Rpc | Select | Insert | Update | Delete | Idempotent


def _json_ready(value: dict[str, Any]) -> dict[str, Any]:
    """Values as JSON would carry them (UUIDs and times as strings), so the write's
    fingerprint is the same whichever gateway sends it."""
    ready: dict[str, Any] = json.loads(json.dumps(value, default=_json_default))
    return ready


def _json_default(value: Any) -> str:
    isoformat = getattr(value, "isoformat", None)
    return str(isoformat()) if callable(isoformat) else str(value)


def write_description(write: Write) -> dict[str, Any]:
    """A write as `public.idempotent_write` reads it (see its migration)."""
    filters = [
        {"column": f.column, "op": f.op, "value": f.value} for f in getattr(write, "filters", ())
    ]
    match write:
        case Rpc(function=function, params=params):
            return _json_ready({"rpc": function, "params": dict(params)})
        case Insert(table=table, values=values):
            return _json_ready({"insert": table, "values": dict(values)})
        case Update(table=table, values=values):
            return _json_ready({"update": table, "values": dict(values), "filters": filters})
        case Delete(table=table):
            return _json_ready({"delete": table, "filters": filters})
    raise TypeError(f"not a write: {write!r}")  # pragma: no cover


def is_write(request: Request) -> bool:
    """Whether the request may change data (everything but a select)."""
    return not isinstance(request, Select)


def as_seen_by(caller: Caller, error: BackendError) -> BackendError:
    """PostgREST's one caller-dependent answer: a missing privilege (42501) is 401 for
    an anonymous caller (sign in first), 403 for a signed-in one."""
    if error.sqlstate == "42501" and caller.role == "anon":
        refused = Unauthenticated(error.message, key="not_authenticated")
        refused.sqlstate, refused.detail, refused.hint = error.sqlstate, error.detail, error.hint
        return refused
    return error


@dataclass(frozen=True)
class Caller:
    """Who a request runs as: the claims the database sees and, for PostgREST, the raw token.

    Build one from a verified access token (`backend.auth`), or use `anon()`;
    `service()` is for administrative code only (webhooks, jobs) and bypasses
    row level security.
    """

    principal: Principal
    access_token: str | None = field(default=None, repr=False)

    @classmethod
    def user(
        cls,
        user_id: UUID | str,
        *,
        email: str | None = None,
        access_token: str | None = None,
        claims: Mapping[str, Any] | None = None,
    ) -> Caller:
        """A signed-in user; `claims` are extra JWT claims and may not set `role` or `aud`."""
        reserved = sorted(RESERVED_CLAIMS & set(claims or {}))
        if reserved:
            raise ValueError(f"a user's claims may not set {', '.join(reserved)}")
        extra = {k: v for k, v in (claims or {}).items() if k not in ("sub", "email")}
        return cls(Principal.user(user_id, email=email, **extra), access_token)

    @classmethod
    def from_token(cls, token: VerifiedToken) -> Caller:
        """The user of a verified access token, with its claim set (as PostgREST sees it).

        `role` and `aud` were checked by the verifier and are set by `Principal.user`.
        """
        claims = {k: v for k, v in token.claims.items() if k not in RESERVED_CLAIMS}
        return cls.user(token.user_id, email=token.email, access_token=token.token, claims=claims)

    @classmethod
    def anon(cls) -> Caller:
        return cls(Principal.anon())

    @classmethod
    def service(cls) -> Caller:
        return cls(Principal.service())

    @property
    def role(self) -> str:
        return self.principal.role

    @property
    def user_id(self) -> str | None:
        return self.principal.user_id


def describe(request: Request) -> tuple[str, str]:
    """The HTTP method and path PostgREST would see for this request."""
    match request:
        case Rpc(function=function):
            return "POST", f"/rpc/{function}"
        case Select(table=table):
            return "GET", f"/{table}"
        case Insert(table=table):
            return "POST", f"/{table}"
        case Update(table=table):
            return "PATCH", f"/{table}"
        case Delete(table=table):
            return "DELETE", f"/{table}"
        case Idempotent():
            return "POST", f"/rpc/{IDEMPOTENT_WRITE}"
    raise TypeError(f"not a gateway request: {request!r}")  # pragma: no cover


class Session(Protocol):
    """A gateway bound to one caller: what a synchronous service talks to."""

    @property
    def caller(self) -> Caller: ...

    def execute(self, request: Request) -> Any:
        """Run one request in one transaction: rows for select/insert/update/delete and
        for a set-returning RPC, one row for an RPC returning a row, a value for a scalar."""
        ...


class AsyncSession(Protocol):
    """The same as `Session`, for asyncio code."""

    @property
    def caller(self) -> Caller: ...

    async def execute(self, request: Request) -> Any: ...


class Gateway(Protocol):
    """A way to reach the database that hands out caller-bound sessions."""

    def session(self, caller: Caller) -> Session:
        """Bound to an anonymous or signed-in caller; a service_role caller is refused."""
        ...

    def administrative_session(self) -> Session:
        """Bound to `service_role`: bypasses row level security, for trusted server code."""
        ...

    def close(self) -> None: ...


class AsyncGateway(Protocol):
    def session(self, caller: Caller) -> AsyncSession: ...

    def administrative_session(self) -> AsyncSession: ...

    async def close(self) -> None: ...
