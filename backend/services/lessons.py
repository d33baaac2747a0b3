"""Lessons: create with participants, update, cancel, complete, and recurring series.

Every write goes through the database function of the contract (one
transaction, every id checked against the caller) and counts against the
"lesson" rate limit of the calling user.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from backend.errors import ValidationError
from backend.gateway.base import Order, Rpc, Select, eq
from backend.models import (
    TIME_RANGE_TEXT,
    Lesson,
    LessonCancel,
    LessonComplete,
    LessonCreate,
    LessonParticipant,
    LessonUpdate,
    RecurringLessonCreate,
    as_params,
    in_time_range,
    latest_end,
)
from backend.services.base import (
    AsyncService,
    Operation,
    SyncService,
    parse_input,
    parse_row,
    parse_rows,
)


def _lesson(raw: Any) -> Lesson:
    return parse_row(Lesson, raw)


def _lessons(raw: Any) -> list[Lesson]:
    return parse_rows(Lesson, raw)


def create_lesson(data: LessonCreate) -> Operation[Lesson]:
    if data.end_time is None and not in_time_range(latest_end(data.start_time)):
        # The type's duration sets the end: it must stay in the range whatever the type.
        message = f"with its end set by the lesson type, must leave its end {TIME_RANGE_TEXT}"
        raise ValidationError(
            f"start_time {message}", key="time_out_of_range", fields={"start_time": message}
        )
    rpc = Rpc("create_lesson_with_participants", as_params(data))
    return Operation(rpc, _lesson, limit="lesson")


def update_lesson(lesson_id: UUID, data: LessonUpdate) -> Operation[Lesson]:
    params = {"p_lesson_id": str(lesson_id), **as_params(data, only_set=True)}
    return Operation(Rpc("update_lesson", params), _lesson, limit="lesson")


def cancel_lesson(lesson_id: UUID, data: LessonCancel) -> Operation[Lesson]:
    params = {"p_lesson_id": str(lesson_id), "p_reason": data.reason}
    return Operation(Rpc("cancel_lesson", params), _lesson, limit="lesson")


def complete_lesson(lesson_id: UUID, data: LessonComplete) -> Operation[Lesson]:
    params = {"p_lesson_id": str(lesson_id), **as_params(data)}
    return Operation(Rpc("complete_lesson", params), _lesson, limit="lesson")


def create_recurring(data: RecurringLessonCreate) -> Operation[list[Lesson]]:
    rpc = Rpc("create_recurring_lessons", as_params(data), returns="rows")
    return Operation(rpc, _lessons, limit="lesson")


def cancel_recurring(series_id: UUID, from_time: datetime | None) -> Operation[int]:
    params: dict[str, Any] = {"p_recurring_lesson_id": str(series_id)}
    if from_time is not None:
        params["p_from"] = from_time.isoformat()
    rpc = Rpc("cancel_recurring_lessons", params, returns="scalar")
    return Operation(rpc, lambda n: int(n or 0), limit="lesson")


def get_lesson(lesson_id: UUID) -> Operation[Lesson]:
    return Operation(Select("lessons", (eq("id", lesson_id),), single=True), _lesson)


def list_participants(lesson_id: UUID) -> Operation[list[LessonParticipant]]:
    request = Select(
        "lesson_participants", (eq("lesson_id", lesson_id),), order=(Order("created_at"),)
    )
    return Operation(request, lambda rows: parse_rows(LessonParticipant, rows))


def _cancel_input(reason: str | None) -> LessonCancel:
    return parse_input(LessonCancel, reason=reason)


def _complete_input(absent: Iterable[UUID]) -> LessonComplete:
    return parse_input(LessonComplete, absent_client_ids=list(absent))


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
        raise ValidationError(
            "from_time must be a time with a time zone",
            fields={"from_time": "must be a timezone-aware datetime"},
        )
    if value is not None and not in_time_range(value):
        message = f"must be {TIME_RANGE_TEXT}"
        raise ValidationError(
            f"from_time {message}", key="time_out_of_range", fields={"from_time": message}
        )
    return value


class LessonService(SyncService):
    """Every write takes an optional `idempotency_key`: a retry with the same key is done once."""

    def create(
        self,
        data: LessonCreate | Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> Lesson:
        """One lesson and one participant per client (`create_lesson_with_participants`)."""
        operation = create_lesson(parse_input(LessonCreate, data, **fields))
        return self._call(operation, idempotency_key)

    def update(
        self,
        lesson_id: UUID,
        data: LessonUpdate | Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> Lesson:
        """Change what is given; `client_ids` replaces the participants (`update_lesson`)."""
        operation = update_lesson(lesson_id, parse_input(LessonUpdate, data, **fields))
        return self._call(operation, idempotency_key)

    def cancel(
        self, lesson_id: UUID, reason: str | None = None, *, idempotency_key: str | None = None
    ) -> Lesson:
        """Cancel; unpaid charges are waived, paid ones stay paid (`cancel_lesson`)."""
        return self._call(cancel_lesson(lesson_id, _cancel_input(reason)), idempotency_key)

    def complete(
        self,
        lesson_id: UUID,
        absent_client_ids: Iterable[UUID] = (),
        *,
        idempotency_key: str | None = None,
    ) -> Lesson:
        """Mark done and record who was absent (`complete_lesson`)."""
        operation = complete_lesson(lesson_id, _complete_input(absent_client_ids))
        return self._call(operation, idempotency_key)

    def create_recurring(
        self,
        data: RecurringLessonCreate | Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> list[Lesson]:
        """A whole series or nothing (`create_recurring_lessons`)."""
        operation = create_recurring(parse_input(RecurringLessonCreate, data, **fields))
        return self._call(operation, idempotency_key)

    def cancel_recurring(
        self,
        series_id: UUID,
        from_time: datetime | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> int:
        """Cancel the series' lessons from `from_time` (default now); how many were cancelled."""
        return self._call(cancel_recurring(series_id, _aware(from_time)), idempotency_key)

    def get(self, lesson_id: UUID) -> Lesson:
        return self._call(get_lesson(lesson_id))

    def participants(self, lesson_id: UUID) -> list[LessonParticipant]:
        return self._call(list_participants(lesson_id))


class AsyncLessonService(AsyncService):
    async def create(
        self,
        data: LessonCreate | Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> Lesson:
        operation = create_lesson(parse_input(LessonCreate, data, **fields))
        return await self._call(operation, idempotency_key)

    async def update(
        self,
        lesson_id: UUID,
        data: LessonUpdate | Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> Lesson:
        operation = update_lesson(lesson_id, parse_input(LessonUpdate, data, **fields))
        return await self._call(operation, idempotency_key)

    async def cancel(
        self, lesson_id: UUID, reason: str | None = None, *, idempotency_key: str | None = None
    ) -> Lesson:
        return await self._call(cancel_lesson(lesson_id, _cancel_input(reason)), idempotency_key)

    async def complete(
        self,
        lesson_id: UUID,
        absent_client_ids: Iterable[UUID] = (),
        *,
        idempotency_key: str | None = None,
    ) -> Lesson:
        operation = complete_lesson(lesson_id, _complete_input(absent_client_ids))
        return await self._call(operation, idempotency_key)

    async def create_recurring(
        self,
        data: RecurringLessonCreate | Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> list[Lesson]:
        operation = create_recurring(parse_input(RecurringLessonCreate, data, **fields))
        return await self._call(operation, idempotency_key)

    async def cancel_recurring(
        self,
        series_id: UUID,
        from_time: datetime | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> int:
        return await self._call(cancel_recurring(series_id, _aware(from_time)), idempotency_key)

    async def get(self, lesson_id: UUID) -> Lesson:
        return await self._call(get_lesson(lesson_id))

    async def participants(self, lesson_id: UUID) -> list[LessonParticipant]:
        return await self._call(list_participants(lesson_id))
