"""Clients: the people a coach teaches. Plain table access; row level security scopes it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from backend.gateway.base import Delete, Insert, Order, Select, Update, eq
from backend.models import DEFAULT_PAGE_SIZE, Client, ClientCreate, ClientUpdate, Page
from backend.services.base import (
    AsyncService,
    Operation,
    SyncService,
    page_of,
    parse_input,
    parse_row,
)

TABLE = "clients"


def _client(raw: Any) -> Client:
    return parse_row(Client, raw)


def _first_client(raw: Any) -> Client:
    return parse_row(Client, raw[0])


def list_clients(
    *, include_inactive: bool = False, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None = None
) -> Operation[Page[Client]]:
    filters = () if include_inactive else (eq("is_active", True),)
    request = Select(TABLE, filters, order=(Order("first_name"), Order("id")))
    return page_of(Client, request, limit=limit, cursor=cursor)


def get_client(client_id: UUID) -> Operation[Client]:
    return Operation(Select(TABLE, (eq("id", client_id),), single=True), _client)


def create_client(data: ClientCreate | Mapping[str, Any]) -> Operation[Client]:
    values = parse_input(ClientCreate, data).model_dump(mode="json")
    return Operation(Insert(TABLE, values), _client)


def update_client(client_id: UUID, data: ClientUpdate | Mapping[str, Any]) -> Operation[Client]:
    values = parse_input(ClientUpdate, data).model_dump(mode="json", exclude_unset=True)
    return Operation(Update(TABLE, values, (eq("id", client_id),)), _first_client)


def delete_client(client_id: UUID) -> Operation[None]:
    return Operation(Delete(TABLE, (eq("id", client_id),)), lambda _: None)


class ClientService(SyncService):
    def list(
        self,
        *,
        include_inactive: bool = False,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page[Client]:
        """A page of clients by first name; `next_cursor` fetches the next one."""
        return self._call(
            list_clients(include_inactive=include_inactive, limit=limit, cursor=cursor)
        )

    def get(self, client_id: UUID) -> Client:
        return self._call(get_client(client_id))

    def create(
        self,
        data: ClientCreate | Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> Client:
        operation = create_client(parse_input(ClientCreate, data, **fields))
        return self._call(operation, idempotency_key)

    def update(
        self,
        client_id: UUID,
        data: ClientUpdate | Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> Client:
        operation = update_client(client_id, parse_input(ClientUpdate, data, **fields))
        return self._call(operation, idempotency_key)

    def deactivate(self, client_id: UUID, *, idempotency_key: str | None = None) -> Client:
        """Hide a client from lists and new lessons; their history and balance stay."""
        operation = update_client(client_id, ClientUpdate(is_active=False))
        return self._call(operation, idempotency_key)

    def delete(self, client_id: UUID, *, idempotency_key: str | None = None) -> None:
        """Delete a client that has no lessons or payments (else `ReferenceViolation`)."""
        self._call(delete_client(client_id), idempotency_key)


class AsyncClientService(AsyncService):
    async def list(
        self,
        *,
        include_inactive: bool = False,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page[Client]:
        return await self._call(
            list_clients(include_inactive=include_inactive, limit=limit, cursor=cursor)
        )

    async def get(self, client_id: UUID) -> Client:
        return await self._call(get_client(client_id))

    async def create(
        self,
        data: ClientCreate | Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> Client:
        operation = create_client(parse_input(ClientCreate, data, **fields))
        return await self._call(operation, idempotency_key)

    async def update(
        self,
        client_id: UUID,
        data: ClientUpdate | Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> Client:
        operation = update_client(client_id, parse_input(ClientUpdate, data, **fields))
        return await self._call(operation, idempotency_key)

    async def deactivate(self, client_id: UUID, *, idempotency_key: str | None = None) -> Client:
        operation = update_client(client_id, ClientUpdate(is_active=False))
        return await self._call(operation, idempotency_key)

    async def delete(self, client_id: UUID, *, idempotency_key: str | None = None) -> None:
        await self._call(delete_client(client_id), idempotency_key)
