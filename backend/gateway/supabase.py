"""The Supabase gateway: the same requests through supabase-py (`rpc()` and `table()`) to PostgREST.

A new supabase-py client is made for every request, carrying that caller's
own access token (creating one costs well under a millisecond), so no client
is ever shared between users and no auth header is ever swapped on a live
client. Redirects are never followed (the `apikey` header would go along).
The HTTP connection pool (an `httpx` client) is shared: it holds
connections, not identities, and postgrest-py sends the headers per request.

The service key appears only in `administrative_session()`: code that uses it
says so by name. User requests go out with the anon key as `apikey` and the
user's token as `Authorization`, exactly like the frontend's client.

PostgREST's answers map to the same typed errors as the direct gateway's,
through `backend.errors.from_postgrest`. postgrest-py's own retries (which
sleep for seconds) are turned off: an `Unavailable` error is `retryable`, and
the caller decides whether and when to try again.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import httpx
from postgrest import APIError

from backend.errors import (
    BackendError,
    Forbidden,
    NotFound,
    Unauthenticated,
    Unavailable,
    from_postgrest,
)
from backend.gateway.base import Caller, Delete, Filter, Insert, Request, Rpc, Select, Update
from backend.observability import REQUEST_ID_HEADER, current_request_id
from supabase import AsyncClientOptions, ClientOptions, acreate_client, create_client


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


def build(client: Any, request: Request) -> Any:
    """The postgrest-py builder for a request, ready for `.execute()` (sync or async)."""
    match request:
        case Rpc(function=function, params=params):
            return client.rpc(function, dict(params))
        case Select(table=table, filters=filters, order=order, limit=limit, single=single):
            builder = _apply_filters(client.table(table).select("*"), list(filters))
            for o in order:
                builder = builder.order(o.column, desc=o.descending)
            if limit is not None:
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


def _failed(exc: Exception) -> BackendError:
    if isinstance(exc, APIError):
        code = exc.code or ""
        if code.isdigit():  # no PostgREST body: postgrest-py put the HTTP status there
            if code == "401":
                return Unauthenticated("the API refused the token", key="not_authenticated")
            if code.startswith("5"):
                return Unavailable(f"the API answered {code}", key="upstream_unavailable")
            if code.startswith("3"):
                return BackendError(
                    f"the API answered a redirect ({code}), which is not followed",
                    key="upstream_redirect",
                )
        return from_postgrest(exc.json())
    return Unavailable(f"the API could not be reached: {exc}", key="upstream_unavailable")


class _Keys:
    def __init__(self, url: str, anon_key: str, service_role_key: str | None) -> None:
        if not url or not anon_key:
            raise SupabaseConfigError(
                "the Supabase gateway needs SUPABASE_URL and SUPABASE_ANON_KEY"
            )
        self.url = url
        self.anon_key = anon_key
        self.service_role_key = service_role_key

    def for_caller(self, caller: Caller, *, administrative: bool) -> tuple[str, str]:
        """(apikey, bearer token) for this caller."""
        if administrative:
            if not self.service_role_key:
                raise SupabaseConfigError("administrative calls need SUPABASE_SERVICE_ROLE_KEY")
            return self.service_role_key, self.service_role_key
        if caller.role == "service_role":
            raise Forbidden(
                "service_role bypasses row level security: use administrative_session()",
                key="administrative_only",
            )
        if caller.role == "anon":
            return self.anon_key, self.anon_key
        if not caller.access_token:
            raise Unauthenticated(
                "a user caller needs its access token for PostgREST", key="not_authenticated"
            )
        return self.anon_key, caller.access_token

    @staticmethod
    def headers(bearer: str) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {bearer}"}
        rid = current_request_id()
        if rid:
            headers[REQUEST_ID_HEADER] = rid
        return headers


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
    ) -> None:
        self._keys = _Keys(url, anon_key, service_role_key)
        self._owns_http = http_client is None
        # Never follow redirects: httpx drops Authorization on a redirect to another host,
        # but not supabase-py's `apikey` header, which may be the service key.
        self._http = http_client or httpx.Client(
            timeout=timeout, follow_redirects=False, transport=transport
        )

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
        return create_client(self._keys.url, apikey, options=options)

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
        try:
            response = build(client, request).execute()
        except (APIError, httpx.TransportError) as exc:
            raise _failed(exc) from exc
        return shape(request, response.data)


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
    ) -> None:
        self._keys = _Keys(url, anon_key, service_role_key)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            timeout=timeout, follow_redirects=False, transport=transport
        )

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
        return await acreate_client(self._keys.url, apikey, options=options)

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
        try:
            response = await build(client, request).execute()
        except (APIError, httpx.TransportError) as exc:
            raise _failed(exc) from exc
        return shape(request, response.data)
