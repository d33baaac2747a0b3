"""The direct gateway: psycopg 3 pools, each request one transaction impersonating its caller.

Per request, exactly as PostgREST does: one transaction, one impersonation
statement that also makes reads READ ONLY and applies the target role's own
settings (for example `statement_timeout` of `anon` and `authenticated`),
then the query, then COMMIT. The request's last statement before COMMIT is
`RESET ALL`, in case a function left a session-level setting behind (a failed
transaction undoes such a setting by itself). Nothing of a request outlives
its transaction, so one pool serves any number of callers without leaking one
caller's identity to the next.

The statements of a request go out pipelined: BEGIN, the impersonation and
the query in one round trip; `SET CONSTRAINTS ALL IMMEDIATE` (a deferred
trigger sees the caller's claims, before the reset), `RESET ALL` and COMMIT in a
second. SQL text is
composed once per request shape and kept.

Every transaction carries the `statement_timeout` and `lock_timeout` of its
kind of caller (`SessionTimeouts`). A connection the server closed (a
restart, a failover) is noticed at checkout without a round trip, one idle
for a while is checked with one, and a dead one is replaced rather than
failing a request; a call whose connection broke before its COMMIT was sent
is sent once more (docs/reliability.md).

Behind a transaction pooler (Supabase's on port 6543, PgBouncer in
`pool_mode = transaction`), every transaction may run on another server
connection, so nothing may be kept on one: no session settings (the above
holds), and no server-side prepared statements, which psycopg makes of a
query after a few runs and names `_pg3_0`, `_pg3_1`… per client connection
(another client's statement of that name meets it on the server, or ours is
missing there). `pool_mode="transaction"` (DATABASE_POOL_MODE, or port 6543)
turns preparation off; a direct connection keeps it, which saves the server
parsing and planning a request shape again.

With a read replica (`read_url`, DATABASE_READ_URL), a session sends its
reads there until its first write; from then on everything goes to the
primary, so a request reads its own writes (a session is one request).

RPC parameters are cast to the function's declared argument types, read once
from the catalog, as PostgREST does from its schema cache: JSON-ready values
(strings for UUIDs and times) mean the same on both gateways.
"""

from __future__ import annotations

import select
import threading
import time
import weakref
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, ConnectionPool, PoolTimeout

from backend.db.connect import PoolMode, pool_mode_of
from backend.db.impersonation import aimpersonate, impersonate
from backend.errors import (
    BackendError,
    ConnectionLost,
    ContractError,
    Forbidden,
    NotFound,
    Unavailable,
    first_line,
    from_psycopg,
    outcome_unknown,
)
from backend.gateway.base import (
    Caller,
    Delete,
    Filter,
    Idempotent,
    Insert,
    Order,
    Request,
    Returns,
    Rpc,
    Select,
    SessionTimeouts,
    Update,
    as_seen_by,
    describe,
)
from backend.observability import request_headers

SCHEMA = "public"


@dataclass(frozen=True)
class Signature:
    """One overload of a function: its input argument names and types, how many have defaults."""

    names: tuple[str, ...]
    types: tuple[str, ...]
    defaults: int

    def accepts(self, given: Sequence[str]) -> bool:
        required = set(self.names[: len(self.names) - self.defaults])
        return set(given) <= set(self.names) and required <= set(given)


_SIGNATURES_SQL = """
select coalesce(p.proargnames, '{}')::text[] as names,
       coalesce(p.proargmodes::text[], '{}') as modes,
       array(select format_type(t, null) from unnest(p.proargtypes) as t) as types,
       p.pronargdefaults as defaults
from pg_catalog.pg_proc as p
join pg_catalog.pg_namespace as n on n.oid = p.pronamespace
where n.nspname = %s and p.proname = %s
"""

_ROLE_SETTINGS_SQL = """
select r.rolname, s.setconfig
from pg_catalog.pg_db_role_setting as s
join pg_catalog.pg_roles as r on r.oid = s.setrole
where s.setdatabase in (0, (select oid from pg_catalog.pg_database
                            where datname = current_database()))
  and r.rolname in ('anon', 'authenticated', 'service_role')
order by s.setdatabase
"""


def _signature(row: Mapping[str, Any]) -> Signature:
    modes = list(row["modes"])
    names = list(row["names"])
    if modes:  # keep the input arguments only: IN, INOUT and VARIADIC
        names = [n for n, m in zip(names, modes, strict=False) if m in ("i", "b", "v")]
    return Signature(tuple(names), tuple(row["types"]), int(row["defaults"]))


class _Catalog:
    """What PostgREST keeps in its schema cache, for the requests this gateway runs."""

    def __init__(self) -> None:
        self.functions: dict[str, list[Signature]] = {}
        self.role_settings: dict[str, list[tuple[str, str]]] | None = None
        self.lock = threading.Lock()

    def choose(self, function: str, given: Sequence[str]) -> Signature:
        candidates = [s for s in self.functions.get(function, []) if s.accepts(given)]
        if not candidates:
            error = ContractError(
                f"Could not find the function {SCHEMA}.{function}({', '.join(sorted(given))})"
                " in the database",
                key="function_not_found",
            )
            error.hint = "check the function's name and parameter names against docs/domain.md"
            raise error
        return candidates[0]

    def remember_role_settings(self, rows: Sequence[Mapping[str, Any]]) -> None:
        settings: dict[str, list[tuple[str, str]]] = {}
        for row in rows:
            for item in row["setconfig"] or []:
                name, _, value = str(item).partition("=")
                settings.setdefault(row["rolname"], []).append((name, value))
        self.role_settings = settings


def _transaction_settings(
    catalog: _Catalog, role: str, read_only: bool, timeouts: SessionTimeouts
) -> list[tuple[str, str]]:
    """`transaction_read_only`, the timeouts, then the role's own settings (which win, as
    PostgREST applies them), all for the one impersonation statement."""
    items: list[tuple[str, str]] = [("transaction_read_only", "on")] if read_only else []
    return items + timeouts.for_role(role) + (catalog.role_settings or {}).get(role, [])


def _where(filters: Sequence[Filter]) -> tuple[sql.Composable, list[Any]]:
    if not filters:
        return sql.SQL(""), []
    parts: list[sql.Composable] = []
    params: list[Any] = []
    ops = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
    for f in filters:
        column = sql.Identifier(f.column)
        if f.op in ops:
            parts.append(sql.SQL("{} {} %s").format(column, sql.SQL(ops[f.op])))
            params.append(f.value)
        elif f.op == "in":
            values = list(f.value)
            if not values:
                parts.append(sql.SQL("false"))
            else:
                marks = sql.SQL(", ").join(sql.Placeholder() for _ in values)
                parts.append(sql.SQL("{} in ({})").format(column, marks))
                params.extend(values)
        elif f.op == "is":
            literal = {None: "null", True: "true", False: "false"}[f.value]
            parts.append(sql.SQL("{} is {}").format(column, sql.SQL(literal)))
        else:  # pragma: no cover - Operator is a closed Literal
            raise ValueError(f"unknown filter operator {f.op!r}")
    return sql.SQL(" where ") + sql.SQL(" and ").join(parts), params


def _after(order: Sequence[Order], after: Sequence[Any]) -> tuple[sql.Composable, list[Any]]:
    """`(a, b) after (x, y)` in the order's directions: `a > x or (a = x and b > y)`."""
    if len(after) != len(order) or not order:
        raise ValueError("a keyset position needs one value per order column")
    alternatives: list[sql.Composable] = []
    for i, o in enumerate(order):
        parts = [sql.SQL("{} = %s").format(sql.Identifier(prior.column)) for prior in order[:i]]
        comparison = "<" if o.descending else ">"
        parts.append(sql.SQL("{} {} %s").format(sql.Identifier(o.column), sql.SQL(comparison)))
        alternatives.append(sql.SQL("(") + sql.SQL(" and ").join(parts) + sql.SQL(")"))
    return sql.SQL("(") + sql.SQL(" or ").join(alternatives) + sql.SQL(")"), _keyset_values(after)


def _keyset_values(after: Sequence[Any]) -> list[Any]:
    """The parameters of `_after`'s condition, in its order."""
    return [value for i in range(len(after)) for value in after[: i + 1]]


def _compile(request: Request, signature: Signature | None) -> tuple[sql.Composed, list[Any]]:
    table = sql.Identifier(SCHEMA, getattr(request, "table", "") or "_")
    match request:
        case Rpc(function=function, params=params, returns=returns):
            assert signature is not None
            types = dict(zip(signature.names, signature.types, strict=True))
            args = sql.SQL(", ").join(
                sql.SQL("{} => %s::{}").format(sql.Identifier(name), sql.SQL(types[name]))
                for name in params
            )
            fn = sql.Identifier(SCHEMA, function)
            values = _rpc_values(params, signature)
            if returns == "scalar":
                return sql.SQL("select {}({}) as value").format(fn, args), values
            return sql.SQL("select * from {}({})").format(fn, args), values
        case Select(filters=filters, order=order, limit=limit, after=after):
            where, values = _where(filters)
            if after is not None:
                keyset, keyset_values = _after(order, after)
                where = (where + sql.SQL(" and ")) if filters else sql.SQL(" where ")
                where += keyset
                values += keyset_values
            query = sql.SQL("select * from {}{}").format(table, where)
            if order:
                query += sql.SQL(" order by ") + sql.SQL(", ").join(
                    sql.SQL("{} {}").format(
                        sql.Identifier(o.column), sql.SQL("desc" if o.descending else "asc")
                    )
                    for o in order
                )
            if limit is not None:
                query += sql.SQL(" limit {}").format(sql.Literal(int(limit)))
            return query, values
        case Insert(values=row):
            columns = sql.SQL(", ").join(sql.Identifier(c) for c in row)
            marks = sql.SQL(", ").join(sql.Placeholder() for _ in row)
            insert = sql.SQL("insert into {} ({}) values ({}) returning *")
            return insert.format(table, columns, marks), list(row.values())
        case Update(values=row, filters=filters):
            assignments = sql.SQL(", ").join(
                sql.SQL("{} = %s").format(sql.Identifier(c)) for c in row
            )
            where, values = _where(filters)
            query = sql.SQL("update {} set {}{} returning *").format(table, assignments, where)
            return query, [*row.values(), *values]
        case Delete(filters=filters):
            where, values = _where(filters)
            return sql.SQL("delete from {}{} returning *").format(table, where), values
    raise TypeError(f"not a gateway request: {request!r}")  # pragma: no cover


def _rpc_values(params: Mapping[str, Any], signature: Signature) -> list[Any]:
    """The arguments in order; a json or jsonb argument travels as Jsonb."""
    types = dict(zip(signature.names, signature.types, strict=True))
    return [
        Jsonb(value) if types[name] in ("json", "jsonb") else value
        for name, value in params.items()
    ]


def _filter_key(filters: Sequence[Filter]) -> tuple[Any, ...]:
    """What of the filters shapes the SQL text: columns, operators, `in` sizes, `is` values."""
    return tuple(
        (f.column, f.op, len(list(f.value)) if f.op == "in" else f.value if f.op == "is" else None)
        for f in filters
    )


def _filter_values(filters: Sequence[Filter]) -> list[Any]:
    values: list[Any] = []
    for f in filters:
        if f.op == "in":
            values.extend(f.value)
        elif f.op != "is":
            values.append(f.value)
    return values


def _statement_key(request: Request, signature: Signature | None) -> tuple[Any, ...]:
    match request:
        case Rpc(function=function, params=params, returns=returns):
            return ("rpc", function, tuple(params), returns, signature)
        case Select(table=table, filters=filters, order=order, limit=limit, after=after):
            return ("select", table, _filter_key(filters), tuple(order), limit, after is not None)
        case Insert(table=table, values=row):
            return ("insert", table, tuple(row))
        case Update(table=table, values=row, filters=filters):
            return ("update", table, tuple(row), _filter_key(filters))
        case Delete(table=table, filters=filters):
            return ("delete", table, _filter_key(filters))
    raise TypeError(f"not a gateway request: {request!r}")  # pragma: no cover


def _values(request: Request, signature: Signature | None) -> list[Any]:
    match request:
        case Rpc(params=params):
            assert signature is not None
            return _rpc_values(params, signature)
        case Select(filters=filters, after=after):
            return [*_filter_values(filters), *_keyset_values(after or ())]
        case Delete(filters=filters):
            return _filter_values(filters)
        case Insert(values=row):
            return list(row.values())
        case Update(values=row, filters=filters):
            return [*row.values(), *_filter_values(filters)]
    raise TypeError(f"not a gateway request: {request!r}")  # pragma: no cover


class _Statements:
    """SQL text per request shape, composed once: a request's values travel as parameters."""

    MAX_SHAPES = 1024

    def __init__(self) -> None:
        self._texts: dict[tuple[Any, ...], str] = {}

    def compile(self, request: Request, signature: Signature | None) -> tuple[str, list[Any]]:
        key = _statement_key(request, signature)
        text = self._texts.get(key)
        if text is None:
            query, _ = _compile(request, signature)
            text = query.as_string(None)
            if len(self._texts) >= self.MAX_SHAPES:
                self._texts.clear()
            self._texts[key] = text
        return text, _values(request, signature)


def _shape(request: Request, rows: list[dict[str, Any]]) -> Any:
    """Rows as the caller expects them, with "nothing touched" turned into `NotFound`."""
    match request:
        case Rpc(returns=returns, function=function):
            return _rpc_result(returns, function, rows)
        case Select(single=True, table=table):
            if not rows:
                raise NotFound(f"no {table} row matches", key="not_found")
            return rows[0]
        case Update(table=table) | Delete(table=table):
            if not rows:
                raise NotFound(f"no {table} row matches (or it is not yours)", key="not_found")
            return rows
        case Insert():
            return rows[0]
    return rows


def _rpc_result(returns: Returns, function: str, rows: list[dict[str, Any]]) -> Any:
    if returns == "rows":
        return rows
    if returns == "scalar":
        return rows[0]["value"] if rows else None
    # A function returning a composite yields one row; all-null means it returned null.
    if not rows or all(v is None for v in rows[0].values()):
        raise NotFound(f"{function} returned no row", key="not_found")
    return rows[0]


def _refuse_service_role(caller: Caller) -> None:
    if caller.role == "service_role":
        raise Forbidden(
            "service_role bypasses row level security: use administrative_session()",
            key="administrative_only",
        )


# A connection back from the pool after this long idle is checked before use.
IDLE_CHECK_SECONDS = 30.0
_returned_at: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()


def _mark_returned(conn: psycopg.Connection[Any]) -> None:
    """On return to the pool: remember when (no round trip; the request reset its session)."""
    _returned_at[conn] = time.monotonic()


async def _amark_returned(conn: psycopg.AsyncConnection[Any]) -> None:
    _returned_at[conn] = time.monotonic()


def _idle_too_long(conn: Any) -> bool:
    returned = _returned_at.get(conn)
    return returned is not None and time.monotonic() - returned > IDLE_CHECK_SECONDS


def _has_unread_input(conn: Any) -> bool:
    """Does the server have something to say on a connection nobody is using? (no round trip)

    An idle connection has nothing to read. A server that terminates it (a
    restart, a failover, `pg_terminate_backend`) first writes its FATAL error and
    closes the socket: the socket turns readable, which a zero-timeout poll sees.
    """
    try:
        fileno = conn.fileno()
    except Exception:  # noqa: BLE001 - a connection without a socket is a dead one
        return True
    poller = select.poll()
    poller.register(fileno, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


def _suspect(conn: Any) -> bool:
    return _has_unread_input(conn) or _idle_too_long(conn)


def _alive(conn: psycopg.Connection[Any]) -> bool:
    """Is a suspect connection still usable? (one round trip; a dead one is closed)"""
    try:
        ConnectionPool.check_connection(conn)
    except psycopg.Error:
        conn.close()
        return False
    return True


async def _aalive(conn: psycopg.AsyncConnection[Any]) -> bool:
    try:
        await AsyncConnectionPool.check_connection(conn)
    except psycopg.Error:
        await conn.close()
        return False
    return True


class _Outage:
    """Whether the server dropped the pool's connections (a restart, a failover) and the pool
    has none to give yet.

    psycopg-pool reconnects in the background with a back-off that doubles
    from one second, so after a long outage its next attempt may be far off
    while the server is already back. Until the pool hands out a live
    connection again, a call that finds it empty opens a connection of its own
    for its one transaction, instead of waiting out the back-off and failing.
    """

    def __init__(self) -> None:
        self.active = False

    def bypass(self, pool: ConnectionPool[Any] | AsyncConnectionPool[Any]) -> bool:
        return self.active and not pool.get_stats().get("pool_available", 0)


def _kwargs(pool: ConnectionPool[Any] | AsyncConnectionPool[Any]) -> dict[str, Any]:
    """The connection options the pool connects with (this module always gives a dict)."""
    return dict(pool.kwargs) if isinstance(pool.kwargs, dict) else {}


@contextmanager
def _checked_out(pool: ConnectionPool[Any], outage: _Outage) -> Iterator[psycopg.Connection[Any]]:
    """A live connection of `pool`: dead ones are handed back closed (the pool replaces
    them) and the next one is taken at once, within the pool's checkout timeout.

    This loop, not the pool's own `check` hook, so that a pool whose every
    connection died (a restart) is drained in one go: the hook waits a second
    or more between two failed checks.
    """
    deadline = time.monotonic() + pool.timeout
    conn = None
    while not outage.bypass(pool):
        conn = pool.getconn(timeout=max(0.0, deadline - time.monotonic()))
        if not _suspect(conn) or _alive(conn):
            outage.active = False
            break
        outage.active = True
        pool.putconn(conn)
        conn = None
    if conn is None:
        with pool.connection_class.connect(pool.conninfo, **_kwargs(pool)) as own:
            yield own
        return
    try:
        yield conn
    finally:
        pool.putconn(conn)


@asynccontextmanager
async def _achecked_out(
    pool: AsyncConnectionPool[Any], outage: _Outage
) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    deadline = time.monotonic() + pool.timeout
    conn = None
    while not outage.bypass(pool):
        conn = await pool.getconn(timeout=max(0.0, deadline - time.monotonic()))
        if not _suspect(conn) or await _aalive(conn):
            outage.active = False
            break
        outage.active = True
        await pool.putconn(conn)
        conn = None
    if conn is None:
        async with await pool.connection_class.connect(pool.conninfo, **_kwargs(pool)) as own:
            yield own
        return
    try:
        yield conn
    finally:
        await pool.putconn(conn)


# Deferred constraint triggers fire now, with the caller's claims; then the session
# forgets whatever a function set at session level. COMMIT follows.
_FIRE_DEFERRED = "SET CONSTRAINTS ALL IMMEDIATE"
_RESET = "RESET ALL"


def _end_as_caller(conn: psycopg.Connection[Any]) -> None:
    conn.execute(_FIRE_DEFERRED)
    conn.execute(_RESET)


def _connection_lost(exc: Exception) -> bool:
    sqlstate = getattr(exc, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith(("08", "57P"))


def _lost_before_commit(exc: Exception) -> bool:
    """The connection itself broke (not a refusal, a timeout or a bad value)."""
    if not isinstance(exc, psycopg.OperationalError):
        return False
    sqlstate = exc.sqlstate
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in ("57P01", "57P02", "57P03")


def _failed(exc: Exception, caller: Caller, request: Request, *, committing: bool) -> BackendError:
    """The typed error; a connection lost while COMMIT was on its way is `OutcomeUnknown`.

    Lost before COMMIT was sent, the server rolls the transaction back: nothing
    happened, and trying again is safe (`ConnectionLost`, which `_once_more`
    sends again on another connection). Lost after, the write may have committed.
    """
    if isinstance(exc, PoolTimeout):
        return Unavailable("no database connection became free in time", key="pool_timeout")
    if committing and _connection_lost(exc):
        error: BackendError = outcome_unknown(
            "the database connection was lost while committing",
            keyed=isinstance(request, Idempotent),
        )
        return error
    if not committing and _lost_before_commit(exc):
        return ConnectionLost(
            f"the database connection was lost before the call committed: {first_line(exc)}"
        )
    return as_seen_by(caller, from_psycopg(exc))


def _sent(request: Request) -> Request:
    """What is sent to the database: an idempotent write as its `idempotent_write` call."""
    return request.as_rpc() if isinstance(request, Idempotent) else request


def _shape_answer(request: Request, rows: list[dict[str, Any]]) -> Any:
    if isinstance(request, Idempotent):
        written = _rpc_result("scalar", request.key, rows) or []
        if isinstance(request.write, Rpc) and request.write.returns == "scalar":
            written = [{"value": value} for value in written]
        return _shape(request.write, written)
    return _shape(request, rows)


def connection_kwargs(pool_mode: PoolMode) -> dict[str, Any]:
    """What every pooled connection is opened with; no prepared statements behind a
    transaction pooler (see the module's docstring)."""
    kwargs: dict[str, Any] = {"row_factory": dict_row, "connect_timeout": 10}
    if pool_mode == "transaction":
        kwargs["prepare_threshold"] = None
    return kwargs


def _is_read(request: Request) -> bool:
    return describe(request)[0] == "GET"


class DirectGateway:
    """A psycopg connection pool that hands out caller-bound sessions (synchronous)."""

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 5.0,
        pool: ConnectionPool[Any] | None = None,
        timeouts: SessionTimeouts | None = None,
        pool_mode: PoolMode | None = None,
        read_url: str | None = None,
    ) -> None:
        def open_pool(target: str) -> ConnectionPool[Any]:
            return ConnectionPool(
                target,
                min_size=min_size,
                max_size=max_size,
                timeout=timeout,
                kwargs=connection_kwargs(pool_mode or pool_mode_of(target)),
                reset=_mark_returned,
                open=True,
            )

        self._pool: ConnectionPool[Any] = pool or open_pool(url)
        self._read_pool = open_pool(read_url) if read_url else None
        self._catalog = _Catalog()
        self._statements = _Statements()
        self._timeouts = timeouts or SessionTimeouts()
        # One per pool: each notices its own server's outage.
        self._outages = {id(p): _Outage() for p in (self._pool, self._read_pool) if p is not None}

    def session(self, caller: Caller) -> DirectSession:
        """The gateway bound to an anonymous or signed-in caller."""
        _refuse_service_role(caller)
        return DirectSession(self, caller)

    def administrative_session(self) -> DirectSession:
        """Runs as `service_role` (row level security does not apply): trusted code only."""
        return DirectSession(self, Caller.service())

    def close(self) -> None:
        self._pool.close()
        if self._read_pool is not None:
            self._read_pool.close()

    def pool_for(self, request: Request, *, wrote: bool) -> ConnectionPool[Any]:
        """The replica for a read before the session's first write, else the primary."""
        if self._read_pool is not None and not wrote and _is_read(request):
            return self._read_pool
        return self._pool

    def __enter__(self) -> DirectGateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(
        self, caller: Caller, request: Request, pool: ConnectionPool[Any]
    ) -> Iterator[tuple[psycopg.Connection[Any], psycopg.Pipeline]]:
        method, path = describe(request)
        committing = False
        try:
            with (
                _checked_out(pool, self._outages[id(pool)]) as conn,
                conn.pipeline() as pipeline,
                conn.transaction(),
            ):
                self._load_catalog(conn, _sent(request))
                impersonate(
                    conn,
                    caller.principal,
                    method=method,
                    path=path,
                    headers=request_headers(),
                    settings=_transaction_settings(
                        self._catalog, caller.role, method == "GET", self._timeouts
                    ),
                )
                yield conn, pipeline
                committing = method != "GET"
                _end_as_caller(conn)
        except (psycopg.Error, PoolTimeout) as exc:
            raise _failed(exc, caller, request, committing=committing) from exc

    def _load_catalog(self, conn: psycopg.Connection[Any], request: Request) -> None:
        catalog = self._catalog
        if catalog.role_settings is None:
            catalog.remember_role_settings(conn.execute(_ROLE_SETTINGS_SQL).fetchall())
        if isinstance(request, Rpc) and not catalog.functions.get(request.function):
            rows = conn.execute(_SIGNATURES_SQL, (SCHEMA, request.function)).fetchall()
            catalog.functions[request.function] = [_signature(r) for r in rows]


class DirectSession:
    """The direct gateway bound to one caller."""

    def __init__(self, gateway: DirectGateway, caller: Caller) -> None:
        self._gateway = gateway
        self._caller = caller
        self._wrote = False

    @property
    def caller(self) -> Caller:
        return self._caller

    def execute(self, request: Request) -> Any:
        try:
            return self._execute_once(request)
        except ConnectionLost:
            return self._execute_once(request)  # nothing of it was applied: once more

    def _execute_once(self, request: Request) -> Any:
        gateway = self._gateway
        sent = _sent(request)
        pool = gateway.pool_for(request, wrote=self._wrote)
        self._wrote = self._wrote or not _is_read(request)
        with gateway._transaction(self._caller, request, pool) as (conn, pipeline):
            signature = None
            if isinstance(sent, Rpc):
                signature = gateway._catalog.choose(sent.function, list(sent.params))
            query, params = gateway._statements.compile(sent, signature)
            cursor = conn.execute(query, params)
            pipeline.sync()
            rows = cursor.fetchall() if cursor.description else []
            return _shape_answer(request, rows)


class AsyncDirectGateway:
    """The same gateway for asyncio code, over an `AsyncConnectionPool` opened on first use."""

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 5.0,
        timeouts: SessionTimeouts | None = None,
        pool_mode: PoolMode | None = None,
        read_url: str | None = None,
    ) -> None:
        def new_pool(target: str) -> AsyncConnectionPool[Any]:
            return AsyncConnectionPool(
                target,
                min_size=min_size,
                max_size=max_size,
                timeout=timeout,
                kwargs=connection_kwargs(pool_mode or pool_mode_of(target)),
                reset=_amark_returned,
                open=False,
            )

        self._pool: AsyncConnectionPool[Any] = new_pool(url)
        self._read_pool = new_pool(read_url) if read_url else None
        self._opened = False
        self._catalog = _Catalog()
        self._statements = _Statements()
        self._timeouts = timeouts or SessionTimeouts()
        # One per pool: each notices its own server's outage.
        self._outages = {id(p): _Outage() for p in (self._pool, self._read_pool) if p is not None}

    def session(self, caller: Caller) -> AsyncDirectSession:
        _refuse_service_role(caller)
        return AsyncDirectSession(self, caller)

    def administrative_session(self) -> AsyncDirectSession:
        return AsyncDirectSession(self, Caller.service())

    async def close(self) -> None:
        if self._opened:
            await self._pool.close()
            if self._read_pool is not None:
                await self._read_pool.close()

    async def _run(self, caller: Caller, request: Request, *, wrote: bool = False) -> Any:
        if not self._opened:
            await self._pool.open()
            if self._read_pool is not None:
                await self._read_pool.open()
            self._opened = True
        pool = self._pool
        if self._read_pool is not None and not wrote and _is_read(request):
            pool = self._read_pool
        method, path = describe(request)
        sent = _sent(request)
        catalog = self._catalog
        committing = False
        try:
            async with (
                _achecked_out(pool, self._outages[id(pool)]) as conn,
                conn.transaction(),
            ):
                if catalog.role_settings is None:
                    cur = await conn.execute(_ROLE_SETTINGS_SQL)
                    catalog.remember_role_settings(await cur.fetchall())
                signature = None
                if isinstance(sent, Rpc):
                    if not catalog.functions.get(sent.function):
                        cur = await conn.execute(_SIGNATURES_SQL, (SCHEMA, sent.function))
                        catalog.functions[sent.function] = [
                            _signature(r) for r in await cur.fetchall()
                        ]
                    signature = catalog.choose(sent.function, list(sent.params))
                await aimpersonate(
                    conn,
                    caller.principal,
                    method=method,
                    path=path,
                    headers=request_headers(),
                    settings=_transaction_settings(
                        catalog, caller.role, method == "GET", self._timeouts
                    ),
                )
                query, params = self._statements.compile(sent, signature)
                cursor = await conn.execute(query, params)
                rows = await cursor.fetchall() if cursor.description else []
                answer = _shape_answer(request, rows)
                committing = method != "GET"
                await conn.execute(_FIRE_DEFERRED)
                await conn.execute(_RESET)
        except (psycopg.Error, PoolTimeout) as exc:
            raise _failed(exc, caller, request, committing=committing) from exc
        return answer


class AsyncDirectSession:
    def __init__(self, gateway: AsyncDirectGateway, caller: Caller) -> None:
        self._gateway = gateway
        self._caller = caller
        self._wrote = False

    @property
    def caller(self) -> Caller:
        return self._caller

    async def execute(self, request: Request) -> Any:
        wrote = self._wrote
        self._wrote = wrote or not _is_read(request)
        try:
            return await self._gateway._run(self._caller, request, wrote=wrote)
        except ConnectionLost:  # nothing of it was applied: once more
            return await self._gateway._run(self._caller, request, wrote=wrote)
