"""The coach's own profile: read it, change what a coach may change.

Row level security leaves a coach exactly its own row, and the column grants
let it change only the name, business name, time zone and currency.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backend.errors import Unauthenticated
from backend.gateway.base import Select, Update, eq
from backend.models import Coach, CoachUpdate
from backend.services.base import AsyncService, Operation, SyncService, parse_input, parse_row


def my_profile() -> Operation[Coach]:
    return Operation(Select("coaches", (), limit=1, single=True), lambda r: parse_row(Coach, r))


def update_profile(coach_id: str, data: CoachUpdate) -> Operation[Coach]:
    values = data.model_dump(mode="json", exclude_unset=True)
    request = Update("coaches", values, (eq("id", coach_id),))
    return Operation(request, lambda rows: parse_row(Coach, rows[0]))


def _caller_id(user_id: str | None) -> str:
    if user_id is None:
        raise Unauthenticated("only a signed-in coach has a profile")
    return user_id


class CoachService(SyncService):
    def me(self) -> Coach:
        return self._call(my_profile())

    def update(
        self,
        data: CoachUpdate | Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> Coach:
        """Change the caller's own profile; fields left out stay as they are."""
        change = parse_input(CoachUpdate, data, **fields)
        if not change.model_fields_set:
            return self.me()
        operation = update_profile(_caller_id(self._session.caller.user_id), change)
        return self._call(operation, idempotency_key)


class AsyncCoachService(AsyncService):
    async def me(self) -> Coach:
        return await self._call(my_profile())

    async def update(
        self,
        data: CoachUpdate | Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> Coach:
        change = parse_input(CoachUpdate, data, **fields)
        if not change.model_fields_set:
            return await self.me()
        operation = update_profile(_caller_id(self._session.caller.user_id), change)
        return await self._call(operation, idempotency_key)
