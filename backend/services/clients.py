"""Clients: the people a coach teaches. Plain table access; row level security scopes it."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from backend.gateway.base import Delete, Insert, Order, Select, Update, eq
from backend.models import Client, ClientCreate, ClientUpdate
from backend.services.base import (
    AsyncService,
    Operation,
    SyncService,
    parse_input,
    parse_row,
    parse_rows,
)

TABLE = "clients"


def _client(raw: Any) -> Client:
    return parse_row(Client, raw)


def _first_client(raw: Any) -> Client:
    return parse_row(Client, raw[0])


def list_clients(*, include_inactive: bool = False) -> Operation[list[Client]]:
    filters = () if include_inactive else (eq("is_active", True),)
    request = Select(TABLE, filters, order=(Order("first_name"), Order("last_name"), Order("id")))
    return Operation(request, lambda rows: parse_rows(Client, rows))


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
    def list(self, *, include_inactive: bool = False) -> builtins.list[Client]:
        return self._call(list_clients(include_inactive=include_inactive))

    def get(self, client_id: UUID) -> Client:
        return self._call(get_client(client_id))

    def create(self, data: ClientCreate | Mapping[str, Any] | None = None, **fields: Any) -> Client:
        return self._call(create_client(parse_input(ClientCreate, data, **fields)))

    def update(
        self, client_id: UUID, data: ClientUpdate | Mapping[str, Any] | None = None, **fields: Any
    ) -> Client:
        return self._call(update_client(client_id, parse_input(ClientUpdate, data, **fields)))

    def deactivate(self, client_id: UUID) -> Client:
        """Hide a client from lists and new lessons; their history and balance stay."""
        return self._call(update_client(client_id, ClientUpdate(is_active=False)))

    def delete(self, client_id: UUID) -> None:
        """Delete a client that has no lessons or payments (else `ReferenceViolation`)."""
        self._call(delete_client(client_id))


class AsyncClientService(AsyncService):
    async def list(self, *, include_inactive: bool = False) -> builtins.list[Client]:
        return await self._call(list_clients(include_inactive=include_inactive))

    async def get(self, client_id: UUID) -> Client:
        return await self._call(get_client(client_id))

    async def create(
        self, data: ClientCreate | Mapping[str, Any] | None = None, **fields: Any
    ) -> Client:
        return await self._call(create_client(parse_input(ClientCreate, data, **fields)))

    async def update(
        self, client_id: UUID, data: ClientUpdate | Mapping[str, Any] | None = None, **fields: Any
    ) -> Client:
        return await self._call(update_client(client_id, parse_input(ClientUpdate, data, **fields)))

    async def deactivate(self, client_id: UUID) -> Client:
        return await self._call(update_client(client_id, ClientUpdate(is_active=False)))

    async def delete(self, client_id: UUID) -> None:
        await self._call(delete_client(client_id))
