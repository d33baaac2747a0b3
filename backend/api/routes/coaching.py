"""The coach's own data: profile, clients, lesson types, lessons, series, reads and payments.

Each route is a thin shell over one service method: the service validates,
rate-limits and maps database errors; row level security makes another
coach's ids look like missing ones (404).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response, status
from pydantic import AwareDatetime, BaseModel, Field

from backend.api.deps import Caller, IdempotencyKey, write
from backend.api.problems import PROBLEM_RESPONSES
from backend.models import (
    MAX_PAGE_SIZE,
    Client,
    ClientBalance,
    ClientCreate,
    ClientUpdate,
    Coach,
    CoachDashboard,
    CoachUpdate,
    Input,
    Lesson,
    LessonCancel,
    LessonComplete,
    LessonCreate,
    LessonHistoryEntry,
    LessonParticipant,
    LessonType,
    LessonTypeCreate,
    LessonTypeUpdate,
    LessonUpdate,
    Page,
    Payment,
    PaymentRecord,
    RecurringLessonCreate,
)

router = APIRouter(responses=PROBLEM_RESPONSES)

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size (at most 200)")]
Cursor = Annotated[
    str | None, Query(max_length=1000, description="`next_cursor` of the previous page")
]


class LessonWithParticipants(BaseModel):
    lesson: Lesson
    participants: list[LessonParticipant]


class SeriesCancel(Input):
    from_time: AwareDatetime | None = Field(
        default=None, description="Cancel the lessons that start at or after this (default: now)"
    )


class SeriesCancelled(BaseModel):
    cancelled: int


# --- the coach ----------------------------------------------------------------------------


@router.get("/coaches/me", tags=["coaches"])
def my_profile(svc: Caller) -> Coach:
    return svc.coaches.me()


@router.patch("/coaches/me", tags=["coaches"])
def update_my_profile(body: CoachUpdate, svc: Caller, key: IdempotencyKey) -> Coach:
    return write(lambda k: svc.coaches.update(body, idempotency_key=k), key)


# --- clients ------------------------------------------------------------------------------


@router.get("/clients", tags=["clients"])
def list_clients(
    svc: Caller, limit: Limit = 50, cursor: Cursor = None, include_inactive: bool = False
) -> Page[Client]:
    return svc.clients.list(include_inactive=include_inactive, limit=limit, cursor=cursor)


@router.post("/clients", tags=["clients"], status_code=status.HTTP_201_CREATED)
def create_client(body: ClientCreate, svc: Caller, key: IdempotencyKey) -> Client:
    return write(lambda k: svc.clients.create(body, idempotency_key=k), key)


@router.get("/clients/{client_id}", tags=["clients"])
def get_client(client_id: UUID, svc: Caller) -> Client:
    return svc.clients.get(client_id)


@router.patch("/clients/{client_id}", tags=["clients"])
def update_client(client_id: UUID, body: ClientUpdate, svc: Caller, key: IdempotencyKey) -> Client:
    return write(lambda k: svc.clients.update(client_id, body, idempotency_key=k), key)


@router.delete("/clients/{client_id}", tags=["clients"], status_code=status.HTTP_204_NO_CONTENT)
def delete_client(client_id: UUID, svc: Caller, key: IdempotencyKey) -> Response:
    write(lambda k: svc.clients.delete(client_id, idempotency_key=k), key)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/clients/{client_id}/charges", tags=["payments"])
def list_charges(
    client_id: UUID,
    svc: Caller,
    payment_status: Literal["unpaid", "paid", "waived", "refunded"] | None = "unpaid",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[LessonParticipant]:
    svc.clients.get(client_id)  # another coach's client is a 404, not an empty page
    return svc.payments.charges(client_id, payment_status, limit=limit, cursor=cursor)


# --- lesson types -------------------------------------------------------------------------


@router.get("/lesson-types", tags=["lesson types"])
def list_lesson_types(
    svc: Caller, limit: Limit = 50, cursor: Cursor = None, include_inactive: bool = False
) -> Page[LessonType]:
    return svc.lesson_types.list(include_inactive=include_inactive, limit=limit, cursor=cursor)


@router.post("/lesson-types", tags=["lesson types"], status_code=status.HTTP_201_CREATED)
def create_lesson_type(body: LessonTypeCreate, svc: Caller, key: IdempotencyKey) -> LessonType:
    return write(lambda k: svc.lesson_types.create(body, idempotency_key=k), key)


@router.get("/lesson-types/{lesson_type_id}", tags=["lesson types"])
def get_lesson_type(lesson_type_id: UUID, svc: Caller) -> LessonType:
    return svc.lesson_types.get(lesson_type_id)


@router.patch("/lesson-types/{lesson_type_id}", tags=["lesson types"])
def update_lesson_type(
    lesson_type_id: UUID, body: LessonTypeUpdate, svc: Caller, key: IdempotencyKey
) -> LessonType:
    return write(lambda k: svc.lesson_types.update(lesson_type_id, body, idempotency_key=k), key)


@router.delete(
    "/lesson-types/{lesson_type_id}",
    tags=["lesson types"],
    status_code=status.HTTP_204_NO_CONTENT,
)
def delete_lesson_type(lesson_type_id: UUID, svc: Caller, key: IdempotencyKey) -> Response:
    write(lambda k: svc.lesson_types.delete(lesson_type_id, idempotency_key=k), key)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- lessons ------------------------------------------------------------------------------


@router.post("/lessons", tags=["lessons"], status_code=status.HTTP_201_CREATED)
def create_lesson(body: LessonCreate, svc: Caller, key: IdempotencyKey) -> Lesson:
    return write(lambda k: svc.lessons.create(body, idempotency_key=k), key)


@router.get("/lessons/{lesson_id}", tags=["lessons"])
def get_lesson(lesson_id: UUID, svc: Caller) -> LessonWithParticipants:
    lesson = svc.lessons.get(lesson_id)
    return LessonWithParticipants(lesson=lesson, participants=svc.lessons.participants(lesson_id))


@router.patch("/lessons/{lesson_id}", tags=["lessons"])
def update_lesson(lesson_id: UUID, body: LessonUpdate, svc: Caller, key: IdempotencyKey) -> Lesson:
    return write(lambda k: svc.lessons.update(lesson_id, body, idempotency_key=k), key)


@router.post("/lessons/{lesson_id}/cancel", tags=["lessons"])
def cancel_lesson(lesson_id: UUID, body: LessonCancel, svc: Caller, key: IdempotencyKey) -> Lesson:
    return write(lambda k: svc.lessons.cancel(lesson_id, body.reason, idempotency_key=k), key)


@router.post("/lessons/{lesson_id}/complete", tags=["lessons"])
def complete_lesson(
    lesson_id: UUID, body: LessonComplete, svc: Caller, key: IdempotencyKey
) -> Lesson:
    return write(
        lambda k: svc.lessons.complete(lesson_id, body.absent_client_ids, idempotency_key=k), key
    )


@router.post("/recurring-lessons", tags=["lessons"], status_code=status.HTTP_201_CREATED)
def create_series(body: RecurringLessonCreate, svc: Caller, key: IdempotencyKey) -> list[Lesson]:
    return write(lambda k: svc.lessons.create_recurring(body, idempotency_key=k), key)


@router.post("/recurring-lessons/{series_id}/cancel", tags=["lessons"])
def cancel_series(
    series_id: UUID, body: SeriesCancel, svc: Caller, key: IdempotencyKey
) -> SeriesCancelled:
    cancelled = write(
        lambda k: svc.lessons.cancel_recurring(series_id, body.from_time, idempotency_key=k), key
    )
    return SeriesCancelled(cancelled=cancelled)


# --- reads --------------------------------------------------------------------------------


@router.get("/calendar", tags=["reads"])
def calendar(
    svc: Caller,
    start: datetime,
    end: datetime,
    include_cancelled: bool = False,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[Lesson]:
    window = {"start": start, "end": end, "include_cancelled": include_cancelled}
    return svc.reads.calendar(window, limit=limit, cursor=cursor)


@router.get("/lesson-history", tags=["reads"])
def lesson_history(
    svc: Caller, client_id: UUID | None = None, limit: Limit = 50, cursor: Cursor = None
) -> Page[LessonHistoryEntry]:
    return svc.reads.history(client_id, limit=limit, cursor=cursor)


@router.get("/balances", tags=["reads"])
def balances(
    svc: Caller, only_owing: bool = False, limit: Limit = 50, cursor: Cursor = None
) -> Page[ClientBalance]:
    return svc.reads.balances(only_owing=only_owing, limit=limit, cursor=cursor)


@router.get("/balances/{client_id}", tags=["reads"])
def balance(client_id: UUID, svc: Caller) -> ClientBalance:
    return svc.reads.balance(client_id)


@router.get("/dashboard", tags=["reads"])
def dashboard(svc: Caller) -> CoachDashboard:
    return svc.reads.dashboard()


# --- payments -----------------------------------------------------------------------------


@router.post("/payments", tags=["payments"], status_code=status.HTTP_201_CREATED)
def record_payment(body: PaymentRecord, svc: Caller, key: IdempotencyKey) -> Payment:
    return write(lambda k: svc.payments.record(body, idempotency_key=k), key)


@router.get("/payments", tags=["payments"])
def list_payments(
    svc: Caller, client_id: UUID | None = None, limit: Limit = 50, cursor: Cursor = None
) -> Page[Payment]:
    return svc.payments.list(client_id, limit=limit, cursor=cursor)


@router.get("/payments/{payment_id}", tags=["payments"])
def get_payment(payment_id: UUID, svc: Caller) -> Payment:
    return svc.payments.get(payment_id)
