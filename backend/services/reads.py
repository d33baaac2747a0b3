"""Reads: the dashboard, balances, lesson history and the calendar, from the contract's views.

The views are `security_invoker`, so row level security applies: a coach
reads only its own rows, whichever gateway is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from backend.errors import COACH_NOT_FOUND_MESSAGE, CoachNotFound, ValidationError
from backend.gateway.base import Filter, Order, Select, eq
from backend.models import (
    CalendarRange,
    ClientBalance,
    Coach,
    CoachDashboard,
    Lesson,
    LessonHistoryEntry,
)
from backend.services.base import (
    AsyncService,
    Operation,
    SyncService,
    parse_input,
    parse_row,
    parse_rows,
)

MAX_HISTORY = 1000


def _own_row(rows: Any) -> Any:
    """The caller's one row of a per-coach relation; none means the user is no coach."""
    if not rows:
        raise CoachNotFound(COACH_NOT_FOUND_MESSAGE)
    return rows[0]


def profile() -> Operation[Coach]:
    """The caller's own coaches row (RLS leaves exactly one)."""
    request = Select("coaches", (), limit=1)
    return Operation(request, lambda rows: parse_row(Coach, _own_row(rows)))


def dashboard() -> Operation[CoachDashboard]:
    request = Select("coach_dashboard", (), limit=1)
    return Operation(request, lambda rows: parse_row(CoachDashboard, _own_row(rows)))


def balances(*, only_owing: bool = False) -> Operation[list[ClientBalance]]:
    filters: tuple[Filter, ...] = (Filter("unpaid_cents", "gt", 0),) if only_owing else ()
    order = (Order("unpaid_cents", descending=True), Order("first_name"), Order("client_id"))
    return Operation(
        Select("client_balances", filters, order=order),
        lambda rows: parse_rows(ClientBalance, rows),
    )


def balance(client_id: UUID) -> Operation[ClientBalance]:
    request = Select("client_balances", (eq("client_id", client_id),), single=True)
    return Operation(request, lambda r: parse_row(ClientBalance, r))


def history(client_id: UUID | None, limit: int) -> Operation[list[LessonHistoryEntry]]:
    if not 1 <= limit <= MAX_HISTORY:
        raise ValidationError(
            f"limit must be between 1 and {MAX_HISTORY}",
            fields={"limit": f"must be between 1 and {MAX_HISTORY}"},
        )
    filters = (eq("client_id", client_id),) if client_id else ()
    order = (Order("start_time", descending=True), Order("lesson_id"), Order("client_id"))
    return Operation(
        Select("lesson_history", filters, order=order, limit=limit),
        lambda rows: parse_rows(LessonHistoryEntry, rows),
    )


def calendar(window: CalendarRange) -> Operation[list[Lesson]]:
    """Lessons overlapping [start, end), in time order."""
    filters: tuple[Filter, ...] = (
        Filter("start_time", "lt", window.end),
        Filter("end_time", "gt", window.start),
    )
    if not window.include_cancelled:
        filters += (Filter("status", "neq", "cancelled"),)
    return Operation(
        Select("lessons", filters, order=(Order("start_time"), Order("id"))),
        lambda rows: parse_rows(Lesson, rows),
    )


class ReadService(SyncService):
    def profile(self) -> Coach:
        return self._call(profile())

    def dashboard(self) -> CoachDashboard:
        return self._call(dashboard())

    def balances(self, *, only_owing: bool = False) -> list[ClientBalance]:
        return self._call(balances(only_owing=only_owing))

    def balance(self, client_id: UUID) -> ClientBalance:
        return self._call(balance(client_id))

    def history(
        self, client_id: UUID | None = None, *, limit: int = 100
    ) -> list[LessonHistoryEntry]:
        return self._call(history(client_id, limit))

    def calendar(
        self, window: CalendarRange | Mapping[str, Any] | None = None, **fields: Any
    ) -> list[Lesson]:
        return self._call(calendar(parse_input(CalendarRange, window, **fields)))


class AsyncReadService(AsyncService):
    async def profile(self) -> Coach:
        return await self._call(profile())

    async def dashboard(self) -> CoachDashboard:
        return await self._call(dashboard())

    async def balances(self, *, only_owing: bool = False) -> list[ClientBalance]:
        return await self._call(balances(only_owing=only_owing))

    async def balance(self, client_id: UUID) -> ClientBalance:
        return await self._call(balance(client_id))

    async def history(
        self, client_id: UUID | None = None, *, limit: int = 100
    ) -> list[LessonHistoryEntry]:
        return await self._call(history(client_id, limit))

    async def calendar(
        self, window: CalendarRange | Mapping[str, Any] | None = None, **fields: Any
    ) -> list[Lesson]:
        return await self._call(calendar(parse_input(CalendarRange, window, **fields)))
