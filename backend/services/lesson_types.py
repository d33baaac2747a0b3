"""Lesson types: what a coach sells (duration, price, group size). Names are unique per coach."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from backend.gateway.base import Delete, Insert, Order, Select, Update, eq
from backend.models import DEFAULT_PAGE_SIZE, LessonType, LessonTypeCreate, LessonTypeUpdate, Page
from backend.services.base import (
    AsyncService,
    Operation,
    SyncService,
    page_of,
    parse_input,
    parse_row,
)

TABLE = "lesson_types"


def _lesson_type(raw: Any) -> LessonType:
    return parse_row(LessonType, raw)


def _first(raw: Any) -> LessonType:
    return parse_row(LessonType, raw[0])


def list_lesson_types(
    *, include_inactive: bool = False, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None = None
) -> Operation[Page[LessonType]]:
    filters = () if include_inactive else (eq("is_active", True),)
    request = Select(TABLE, filters, order=(Order("name"), Order("id")))
    return page_of(LessonType, request, limit=limit, cursor=cursor)


def get_lesson_type(lesson_type_id: UUID) -> Operation[LessonType]:
    return Operation(Select(TABLE, (eq("id", lesson_type_id),), single=True), _lesson_type)


def create_lesson_type(data: LessonTypeCreate) -> Operation[LessonType]:
    return Operation(Insert(TABLE, data.model_dump(mode="json")), _lesson_type)


def update_lesson_type(lesson_type_id: UUID, data: LessonTypeUpdate) -> Operation[LessonType]:
    values = data.model_dump(mode="json", exclude_unset=True)
    return Operation(Update(TABLE, values, (eq("id", lesson_type_id),)), _first)


def delete_lesson_type(lesson_type_id: UUID) -> Operation[None]:
    return Operation(Delete(TABLE, (eq("id", lesson_type_id),)), lambda _: None)


class LessonTypeService(SyncService):
    def list(
        self,
        *,
        include_inactive: bool = False,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page[LessonType]:
        """A page of lesson types by name; `next_cursor` fetches the next one."""
        return self._call(
            list_lesson_types(include_inactive=include_inactive, limit=limit, cursor=cursor)
        )

    def get(self, lesson_type_id: UUID) -> LessonType:
        return self._call(get_lesson_type(lesson_type_id))

    def create(
        self,
        data: LessonTypeCreate | Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> LessonType:
        operation = create_lesson_type(parse_input(LessonTypeCreate, data, **fields))
        return self._call(operation, idempotency_key)

    def update(
        self,
        lesson_type_id: UUID,
        data: LessonTypeUpdate | Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> LessonType:
        changes = parse_input(LessonTypeUpdate, data, **fields)
        return self._call(update_lesson_type(lesson_type_id, changes), idempotency_key)

    def deactivate(self, lesson_type_id: UUID, *, idempotency_key: str | None = None) -> LessonType:
        """No new lessons of this type; existing lessons keep it."""
        operation = update_lesson_type(lesson_type_id, LessonTypeUpdate(is_active=False))
        return self._call(operation, idempotency_key)

    def delete(self, lesson_type_id: UUID, *, idempotency_key: str | None = None) -> None:
        self._call(delete_lesson_type(lesson_type_id), idempotency_key)


class AsyncLessonTypeService(AsyncService):
    async def list(
        self,
        *,
        include_inactive: bool = False,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page[LessonType]:
        return await self._call(
            list_lesson_types(include_inactive=include_inactive, limit=limit, cursor=cursor)
        )

    async def get(self, lesson_type_id: UUID) -> LessonType:
        return await self._call(get_lesson_type(lesson_type_id))

    async def create(
        self,
        data: LessonTypeCreate | Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> LessonType:
        operation = create_lesson_type(parse_input(LessonTypeCreate, data, **fields))
        return await self._call(operation, idempotency_key)

    async def update(
        self,
        lesson_type_id: UUID,
        data: LessonTypeUpdate | Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> LessonType:
        changes = parse_input(LessonTypeUpdate, data, **fields)
        return await self._call(update_lesson_type(lesson_type_id, changes), idempotency_key)

    async def deactivate(
        self, lesson_type_id: UUID, *, idempotency_key: str | None = None
    ) -> LessonType:
        operation = update_lesson_type(lesson_type_id, LessonTypeUpdate(is_active=False))
        return await self._call(operation, idempotency_key)

    async def delete(self, lesson_type_id: UUID, *, idempotency_key: str | None = None) -> None:
        await self._call(delete_lesson_type(lesson_type_id), idempotency_key)
