"""Reads: the dashboard, balances, lesson history and the calendar, from the contract's views.

The views are `security_invoker`, so row level security applies: a coach
reads only its own rows, whichever gateway is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from backend.errors import COACH_NOT_FOUND_MESSAGE, CoachNotFound
from backend.gateway.base import Filter, Order, Select, eq
from backend.models import (
    DEFAULT_PAGE_SIZE,
    CalendarRange,
    ClientBalance,
    Coach,
    CoachDashboard,
    Lesson,
    LessonHistoryEntry,
    Page,
)
from backend.services.base import (
    AsyncService,
    Operation,
    SyncService,
    page_of,
    parse_input,
    parse_row,
)


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


def balances(
    *, only_owing: bool = False, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None = None
) -> Operation[Page[ClientBalance]]:
    filters: tuple[Filter, ...] = (Filter("unpaid_cents", "gt", 0),) if only_owing else ()
    order = (Order("unpaid_cents", descending=True), Order("first_name"), Order("client_id"))
    request = Select("client_balances", filters, order=order)
    return page_of(ClientBalance, request, limit=limit, cursor=cursor)


def balance(client_id: UUID) -> Operation[ClientBalance]:
    request = Select("client_balances", (eq("client_id", client_id),), single=True)
    return Operation(request, lambda r: parse_row(ClientBalance, r))


def history(
    client_id: UUID | None, *, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None = None
) -> Operation[Page[LessonHistoryEntry]]:
    filters = (eq("client_id", client_id),) if client_id else ()
    order = (Order("start_time", descending=True), Order("lesson_id"), Order("client_id"))
    request = Select("lesson_history", filters, order=order)
    return page_of(LessonHistoryEntry, request, limit=limit, cursor=cursor)


def calendar(
    window: CalendarRange, *, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None = None
) -> Operation[Page[Lesson]]:
    """Lessons overlapping [start, end), in time order."""
    filters: tuple[Filter, ...] = (
        Filter("start_time", "lt", window.end),
        Filter("end_time", "gt", window.start),
    )
    if not window.include_cancelled:
        filters += (Filter("status", "neq", "cancelled"),)
    request = Select("lessons", filters, order=(Order("start_time"), Order("id")))
    return page_of(Lesson, request, limit=limit, cursor=cursor)


class ReadService(SyncService):
    def profile(self) -> Coach:
        return self._call(profile())

    def dashboard(self) -> CoachDashboard:
        return self._call(dashboard())

    def balances(
        self, *, only_owing: bool = False, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None = None
    ) -> Page[ClientBalance]:
        """A page of balances, largest first."""
        return self._call(balances(only_owing=only_owing, limit=limit, cursor=cursor))

    def balance(self, client_id: UUID) -> ClientBalance:
        return self._call(balance(client_id))

    def history(
        self,
        client_id: UUID | None = None,
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page[LessonHistoryEntry]:
        """A page of past lessons, most recent first."""
        return self._call(history(client_id, limit=limit, cursor=cursor))

    def calendar(
        self,
        window: CalendarRange | Mapping[str, Any] | None = None,
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
        **fields: Any,
    ) -> Page[Lesson]:
        """A page of the lessons overlapping the window, in time order."""
        window = parse_input(CalendarRange, window, **fields)
        return self._call(calendar(window, limit=limit, cursor=cursor))


class AsyncReadService(AsyncService):
    async def profile(self) -> Coach:
        return await self._call(profile())

    async def dashboard(self) -> CoachDashboard:
        return await self._call(dashboard())

    async def balances(
        self, *, only_owing: bool = False, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None = None
    ) -> Page[ClientBalance]:
        return await self._call(balances(only_owing=only_owing, limit=limit, cursor=cursor))

    async def balance(self, client_id: UUID) -> ClientBalance:
        return await self._call(balance(client_id))

    async def history(
        self,
        client_id: UUID | None = None,
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page[LessonHistoryEntry]:
        return await self._call(history(client_id, limit=limit, cursor=cursor))

    async def calendar(
        self,
        window: CalendarRange | Mapping[str, Any] | None = None,
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
        **fields: Any,
    ) -> Page[Lesson]:
        window = parse_input(CalendarRange, window, **fields)
        return await self._call(calendar(window, limit=limit, cursor=cursor))
