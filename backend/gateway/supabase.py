"""The Supabase gateway: the same requests through supabase-py (`rpc()` and `table()`) to PostgREST.

A new supabase-py client is made for every request, carrying that caller's
own access token (creating one costs well under a millisecond), so no client
is ever shared between users and no auth header is ever swapped on a live
client. Redirects are never followed (the `apikey` header would go along).
The HTTP connection pool (an `httpx` client) is shared: it holds
connections, not identities, and postgrest-py sends the headers per request.

The service key appears only in `administrative_session()`: code that uses it
says so by name. User requests go out with the anon (publishable) key as
`apikey` and the user's token as `Authorization`, exactly like the frontend's
client. Supabase's API keys (`sb_publishable_…`, `sb_secret_…`) are not JWTs:
anonymous and administrative requests send them as `apikey` only, and
Supabase's API gateway turns them into the role's token; the legacy JWT keys
go as `apikey` and as the bearer, as before.

PostgREST's answers map to the same typed errors as the direct gateway's,
through `backend.errors.from_postgrest`. An answer without a PostgREST body
(Supabase's API gateway answers some failures itself, with only a
`message`) maps by its HTTP status, kept by a response hook on the shared
client: 5xx and 429 are `Unavailable` (429 with its `Retry-After`), 401
`Unauthenticated`, 403 `Forbidden`. postgrest-py's own retries (which sleep
for seconds) are turned off: the caller decides whether and when to try
again. A write whose answer was lost after it was sent (a read timeout, a
dropped connection, a 502 or 504 from the API gateway) may have committed:
it is `OutcomeUnknown`, retryable only when it carried an idempotency key.

PostgREST caps every read at `db-max-rows` (1,000 on Supabase). A select
without a limit, or with one above the cap, is read page by page (`offset`
and `limit`, the first page counting the rows with `Prefer: count=exact`)
until every row is in, so nothing is cut silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from uuid import UUID

import httpx
from postgrest import APIError, CountMethod

from backend.errors import (
    BackendError,
    Forbidden,
    NotFound,
    Unauthenticated,
    Unavailable,
    from_postgrest,
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
    Rpc,
    Select,
    Update,
    as_seen_by,
    is_write,
)
from backend.observability import REQUEST_ID_HEADER, current_request_id
from supabase import AsyncClientOptions, ClientOptions, acreate_client, create_client

DEFAULT_MAX_ROWS = 1000  # PostgREST's db-max-rows on Supabase and in supabase/config.toml
NEW_KEY_PREFIXES = ("sb_publishable_", "sb_secret_")

# The last HTTP response of this context, kept by the shared client's response hook:
# postgrest-py keeps no status for an error body without a PostgREST `code`.
_last_response: ContextVar[httpx.Response | None] = ContextVar("last_response", default=None)


def _remember(response: httpx.Response) -> None:
    _last_response.set(response)


async def _aremember(response: httpx.Response) -> None:
    _last_response.set(response)


class SupabaseConfigError(Exception):
    """The Supabase gateway lacks a URL or key it needs."""


def _filter_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value


def _apply_filters(builder: Any, filters: tuple[Filter, ...] | list[Filter]) -> Any:
    for f in filters:
        if f.op == "in":
            builder = builder.in_(f.column, [_filter_value(v) for v in f.value])
        elif f.op == "is":
            builder = builder.is_(f.column, "null" if f.value is None else str(f.value).lower())
        else:
            builder = getattr(builder, f.op)(f.column, _filter_value(f.value))
    return builder


def _quoted(value: Any) -> str:
    text = str(_filter_value(value))
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _after(order: Sequence[Order], after: Sequence[Any]) -> str:
    """PostgREST's `or` filter for the rows strictly after a keyset position."""
    if len(after) != len(order) or not order:
        raise ValueError("a keyset position needs one value per order column")
    alternatives = []
    for i, o in enumerate(order):
        parts = [f"{prior.column}.eq.{_quoted(after[j])}" for j, prior in enumerate(order[:i])]
        parts.append(f"{o.column}.{'lt' if o.descending else 'gt'}.{_quoted(after[i])}")
        alternatives.append(parts[0] if len(parts) == 1 else f"and({','.join(parts)})")
    return ",".join(alternatives)


def build(client: Any, request: Request, page: tuple[int, int] | None = None) -> Any:
    """The postgrest-py builder for a request, ready for `.execute()` (sync or async).

    `page` (offset, size) reads one page of a select and counts its rows on the first.
    """
    match request:
        case Idempotent():
            return build(client, request.as_rpc())
        case Rpc(function=function, params=params):
            return client.rpc(function, dict(params))
        case Select(
            table=table, filters=filters, order=order, limit=limit, single=single, after=after
        ):
            count = CountMethod.exact if page is not None and page[0] == 0 else None
            builder = _apply_filters(client.table(table).select("*", count=count), list(filters))
            if after is not None:
                builder = builder.or_(_after(order, after))
            for o in order:
                builder = builder.order(o.column, desc=o.descending)
            if page is not None:
                builder = builder.offset(page[0]).limit(page[1])
            elif limit is not None:
                builder = builder.limit(limit)
            return builder.single() if single else builder
        case Insert(table=table, values=values):
            return client.table(table).insert(dict(values))
        case Update(table=table, values=values, filters=filters):
            return _apply_filters(client.table(table).update(dict(values)), list(filters))
        case Delete(table=table, filters=filters):
            return _apply_filters(client.table(table).delete(), list(filters))
    raise TypeError(f"not a gateway request: {request!r}")  # pragma: no cover


def shape(request: Request, data: Any) -> Any:
    """PostgREST's JSON as the caller expects it; "nothing touched" is `NotFound`."""
    match request:
        case Idempotent(write=write):
            # idempotent_write answers the write's rows (or scalar values) as one array
            written = data or []
            if isinstance(write, Rpc) and write.returns == "scalar":
                return written[0] if written else None
            return shape(write, written)
        case Rpc(returns="row", function=function):
            row = data[0] if isinstance(data, list) and len(data) == 1 else data
            if not row or (isinstance(row, dict) and all(v is None for v in row.values())):
                raise NotFound(f"{function} returned no row", key="not_found")
            return row
        case Update(table=table) | Delete(table=table):
            if not data:
                raise NotFound(f"no {table} row matches (or it is not yours)", key="not_found")
            return data
        case Insert():
            return data[0] if isinstance(data, list) else data
    return data


def paged(request: Request, max_rows: int) -> bool:
    """Whether a select must be read page by page to get every row it asks for."""
    return (
        isinstance(request, Select)
        and not request.single
        and (request.limit is None or request.limit > max_rows)
    )


# Transport failures before the request left: nothing reached PostgREST.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
# Answers of Supabase's API gateway that may come after PostgREST ran the request.
_LOST_ANSWER_STATUSES = (502, 504)


def _retry_after(response: httpx.Response | None) -> float | None:
    value = response.headers.get("retry-after") if response is not None else None
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _by_status(
    status: int, message: str | None, response: httpx.Response | None, request: Request
) -> BackendError:
    """An answer without a PostgREST error body (the API gateway's own, or a bare page)."""
    said = f"the API answered {status}" + (f": {message}" if message else "")
    if status in _LOST_ANSWER_STATUSES and is_write(request):
        return outcome_unknown(said, keyed=isinstance(request, Idempotent))
    if status >= 500:
        return Unavailable(said, key="upstream_unavailable")
    if status == 429:
        return Unavailable(said, key="upstream_rate_limited", retry_after=_retry_after(response))
    if status == 401:
        return Unauthenticated(said, key="not_authenticated")
    if status == 403:
        return Forbidden(said, key="forbidden")
    if 300 <= status < 400:
        return BackendError(f"{said}, a redirect, which is not followed", key="upstream_redirect")
    return BackendError(said, key="database_error")


def _failed(exc: Exception, caller: Caller, request: Request) -> BackendError:
    response = _last_response.get()
    if isinstance(exc, APIError):
        code = exc.code or ""
        # A PostgREST body has a SQLSTATE or PGRST code (5 or more characters); postgrest-py
        # puts the 3-digit HTTP status in `code` for a body it could not read.
        if code and not (len(code) == 3 and code.isdigit()):
            return as_seen_by(caller, from_postgrest(exc.json()))
        status = response.status_code if response is not None else int(code or "500")
        return _by_status(status, exc.message, response, request)
    if is_write(request) and not isinstance(exc, _NOT_SENT):
        return outcome_unknown(
            f"the API's answer was lost ({type(exc).__name__})",
            keyed=isinstance(request, Idempotent),
        )
    return Unavailable(f"the API could not be reached: {exc}", key="upstream_unavailable")


def _next_page(rows: list[Any], max_rows: int, limit: int | None) -> tuple[int, int]:
    """(offset, size) of the next page: after the rows already read, up to `limit`."""
    offset = len(rows)
    return offset, max_rows if limit is None else min(max_rows, limit - offset)


def _done(
    rows: list[Any], page: list[Any], size: int, total: int | None, limit: int | None
) -> bool:
    """Every row is in: the limit is reached, the count is reached, or a page came back empty.

    A page shorter than asked is not the end when the count says more rows exist
    (the server's own cap may be lower than ours); without a count it is.
    """
    if not page or (limit is not None and len(rows) >= limit):
        return True
    if total is not None:
        return len(rows) >= total
    return len(page) < size


class _Keys:
    def __init__(self, url: str, anon_key: str, service_role_key: str | None) -> None:
        if not url or not anon_key:
            raise SupabaseConfigError(
                "the Supabase gateway needs SUPABASE_URL and SUPABASE_ANON_KEY"
            )
        # A secret key in the anon slot would give every anonymous request service_role.
        if anon_key.startswith("sb_secret_"):
            raise SupabaseConfigError(
                "SUPABASE_ANON_KEY holds a secret key (sb_secret_…): use the publishable key"
            )
        if service_role_key and service_role_key.startswith("sb_publishable_"):
            raise SupabaseConfigError(
                "SUPABASE_SERVICE_ROLE_KEY holds a publishable key: use the secret key"
            )
        self.url = url
        self.anon_key = anon_key
        self.service_role_key = service_role_key

    def for_caller(self, caller: Caller, *, administrative: bool) -> tuple[str, str | None]:
        """(apikey, bearer token) for this caller; no bearer for an `sb_…` API key."""
        if administrative:
            if not self.service_role_key:
                raise SupabaseConfigError("administrative calls need SUPABASE_SERVICE_ROLE_KEY")
            return self.service_role_key, _bearer_of(self.service_role_key)
        if caller.role == "service_role":
            raise Forbidden(
                "service_role bypasses row level security: use administrative_session()",
                key="administrative_only",
            )
        if caller.role == "anon":
            return self.anon_key, _bearer_of(self.anon_key)
        if not caller.access_token:
            raise Unauthenticated(
                "a user caller needs its access token for PostgREST", key="not_authenticated"
            )
        return self.anon_key, caller.access_token

    @staticmethod
    def headers(bearer: str | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        rid = current_request_id()
        if rid:
            headers[REQUEST_ID_HEADER] = rid
        return headers


def _bearer_of(key: str) -> str | None:
    """A legacy JWT key is also the bearer; an `sb_…` key is not a JWT and goes as `apikey` only."""
    return None if key.startswith(NEW_KEY_PREFIXES) else key


def _without_bearer(client: Any) -> Any:
    """supabase-py sends its key as the bearer when given none: not for an `sb_…` key."""
    client.options.headers.pop("Authorization", None)
    auth_headers = getattr(client.auth, "_headers", None)
    if isinstance(auth_headers, dict):
        auth_headers.pop("Authorization", None)
    return client


class SupabaseGateway:
    """supabase-py over a shared HTTP connection pool (synchronous)."""

    def __init__(
        self,
        url: str,
        anon_key: str,
        *,
        service_role_key: str | None = None,
        http_client: httpx.Client | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        max_rows: int = DEFAULT_MAX_ROWS,
    ) -> None:
        self._keys = _Keys(url, anon_key, service_role_key)
        self._owns_http = http_client is None
        # Never follow redirects: httpx drops Authorization on a redirect to another host,
        # but not supabase-py's `apikey` header, which may be the service key.
        self._http = http_client or httpx.Client(
            timeout=timeout, follow_redirects=False, transport=transport
        )
        self._http.event_hooks["response"] = [*self._http.event_hooks["response"], _remember]
        self.max_rows = max_rows

    def session(self, caller: Caller) -> SupabaseSession:
        self._keys.for_caller(caller, administrative=False)  # fail now, not on first use
        return SupabaseSession(self, caller, administrative=False)

    def administrative_session(self) -> SupabaseSession:
        """Runs as `service_role` with the service key: row level security does not apply."""
        self._keys.for_caller(Caller.service(), administrative=True)
        return SupabaseSession(self, Caller.service(), administrative=True)

    def client_for(self, caller: Caller, *, administrative: bool = False) -> Any:
        """A fresh supabase-py client for one request of this caller."""
        apikey, bearer = self._keys.for_caller(caller, administrative=administrative)
        options = ClientOptions(
            headers=self._keys.headers(bearer),
            auto_refresh_token=False,
            persist_session=False,
            httpx_client=self._http,
            postgrest_client_retry=False,
        )
        client = create_client(self._keys.url, apikey, options=options)
        return client if bearer else _without_bearer(client)

    def auth_client(self) -> Any:
        """A fresh supabase-py client with the anon key, for Supabase Auth (sign-in, sign-up)."""
        return self.client_for(Caller.anon())

    def close(self) -> None:
        if self._owns_http:
            self._http.close()


class SupabaseSession:
    def __init__(self, gateway: SupabaseGateway, caller: Caller, *, administrative: bool) -> None:
        self._gateway = gateway
        self._caller = caller
        self._administrative = administrative

    @property
    def caller(self) -> Caller:
        return self._caller

    def execute(self, request: Request) -> Any:
        client = self._gateway.client_for(self._caller, administrative=self._administrative)
        if paged(request, self._gateway.max_rows):
            assert isinstance(request, Select)
            return self._every_row(client, request)
        return shape(request, self._send(build(client, request), request).data)

    def _send(self, builder: Any, request: Request) -> Any:
        _last_response.set(None)
        try:
            return builder.execute()
        except (APIError, httpx.TransportError) as exc:
            raise _failed(exc, self._caller, request) from exc

    def _every_row(self, client: Any, request: Select) -> list[Any]:
        rows: list[Any] = []
        total: int | None = None
        while True:
            page = _next_page(rows, self._gateway.max_rows, request.limit)
            response = self._send(build(client, request, page), request)
            rows += response.data
            total = response.count if page[0] == 0 else total
            if _done(rows, response.data, page[1], total, request.limit):
                return rows


class AsyncSupabaseGateway:
    """supabase-py's asyncio client over a shared `httpx.AsyncClient`."""

    def __init__(
        self,
        url: str,
        anon_key: str,
        *,
        service_role_key: str | None = None,
        http_client: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        max_rows: int = DEFAULT_MAX_ROWS,
    ) -> None:
        self._keys = _Keys(url, anon_key, service_role_key)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            timeout=timeout, follow_redirects=False, transport=transport
        )
        self._http.event_hooks["response"] = [*self._http.event_hooks["response"], _aremember]
        self.max_rows = max_rows

    def session(self, caller: Caller) -> AsyncSupabaseSession:
        self._keys.for_caller(caller, administrative=False)
        return AsyncSupabaseSession(self, caller, administrative=False)

    def administrative_session(self) -> AsyncSupabaseSession:
        self._keys.for_caller(Caller.service(), administrative=True)
        return AsyncSupabaseSession(self, Caller.service(), administrative=True)

    async def client_for(self, caller: Caller, *, administrative: bool = False) -> Any:
        apikey, bearer = self._keys.for_caller(caller, administrative=administrative)
        options = AsyncClientOptions(
            headers=self._keys.headers(bearer),
            auto_refresh_token=False,
            persist_session=False,
            httpx_client=self._http,
            postgrest_client_retry=False,
        )
        client = await acreate_client(self._keys.url, apikey, options=options)
        return client if bearer else _without_bearer(client)

    async def auth_client(self) -> Any:
        return await self.client_for(Caller.anon())

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()


class AsyncSupabaseSession:
    def __init__(
        self, gateway: AsyncSupabaseGateway, caller: Caller, *, administrative: bool
    ) -> None:
        self._gateway = gateway
        self._caller = caller
        self._administrative = administrative

    @property
    def caller(self) -> Caller:
        return self._caller

    async def execute(self, request: Request) -> Any:
        client = await self._gateway.client_for(self._caller, administrative=self._administrative)
        if paged(request, self._gateway.max_rows):
            assert isinstance(request, Select)
            return await self._every_row(client, request)
        return shape(request, (await self._send(build(client, request), request)).data)

    async def _send(self, builder: Any, request: Request) -> Any:
        _last_response.set(None)
        try:
            return await builder.execute()
        except (APIError, httpx.TransportError) as exc:
            raise _failed(exc, self._caller, request) from exc

    async def _every_row(self, client: Any, request: Select) -> list[Any]:
        rows: list[Any] = []
        total: int | None = None
        while True:
            page = _next_page(rows, self._gateway.max_rows, request.limit)
            response = await self._send(build(client, request, page), request)
            rows += response.data
            total = response.count if page[0] == 0 else total
            if _done(rows, response.data, page[1], total, request.limit):
                return rows
