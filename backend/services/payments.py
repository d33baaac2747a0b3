"""Payments: record money received for a client's charges; the database computes the amount.

`record` counts against the "payment" rate limit of the calling user. Stripe
checkouts are created and settled by server code (`backend.payments`), not here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from backend.gateway.base import Filter, Order, Rpc, Select, eq
from backend.models import (
    DEFAULT_PAGE_SIZE,
    LessonParticipant,
    Page,
    Payment,
    PaymentRecord,
    PaymentStatus,
    as_params,
)
from backend.services.base import (
    AsyncService,
    Operation,
    SyncService,
    page_of,
    parse_input,
    parse_row,
)


def record_payment(data: PaymentRecord) -> Operation[Payment]:
    rpc = Rpc("record_payment", as_params(data))
    return Operation(rpc, lambda raw: parse_row(Payment, raw), limit="payment")


def list_payments(
    client_id: UUID | None, *, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None = None
) -> Operation[Page[Payment]]:
    filters = (eq("client_id", client_id),) if client_id else ()
    order = (Order("created_at", descending=True), Order("id", descending=True))
    return page_of(Payment, Select("payments", filters, order=order), limit=limit, cursor=cursor)


def get_payment(payment_id: UUID) -> Operation[Payment]:
    request = Select("payments", (eq("id", payment_id),), single=True)
    return Operation(request, lambda raw: parse_row(Payment, raw))


def list_charges(
    client_id: UUID,
    status: PaymentStatus | None,
    *,
    limit: int = DEFAULT_PAGE_SIZE,
    cursor: str | None = None,
) -> Operation[Page[LessonParticipant]]:
    filters: tuple[Filter, ...] = (eq("client_id", client_id),)
    if status:
        filters += (eq("payment_status", status),)
    request = Select("lesson_participants", filters, order=(Order("created_at"), Order("id")))
    return page_of(LessonParticipant, request, limit=limit, cursor=cursor)


class PaymentService(SyncService):
    def record(
        self,
        data: PaymentRecord | Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> Payment:
        """A succeeded payment settling these charges (`record_payment`)."""
        operation = record_payment(parse_input(PaymentRecord, data, **fields))
        return self._call(operation, idempotency_key)

    def list(
        self,
        client_id: UUID | None = None,
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page[Payment]:
        """A page of payments, newest first; `next_cursor` fetches the next one."""
        return self._call(list_payments(client_id, limit=limit, cursor=cursor))

    def get(self, payment_id: UUID) -> Payment:
        return self._call(get_payment(payment_id))

    def charges(
        self,
        client_id: UUID,
        status: PaymentStatus | None = "unpaid",
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page[LessonParticipant]:
        """A page of a client's charges (participants), unpaid ones by default."""
        return self._call(list_charges(client_id, status, limit=limit, cursor=cursor))


class AsyncPaymentService(AsyncService):
    async def record(
        self,
        data: PaymentRecord | Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> Payment:
        operation = record_payment(parse_input(PaymentRecord, data, **fields))
        return await self._call(operation, idempotency_key)

    async def list(
        self,
        client_id: UUID | None = None,
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page[Payment]:
        return await self._call(list_payments(client_id, limit=limit, cursor=cursor))

    async def get(self, payment_id: UUID) -> Payment:
        return await self._call(get_payment(payment_id))

    async def charges(
        self,
        client_id: UUID,
        status: PaymentStatus | None = "unpaid",
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page[LessonParticipant]:
        return await self._call(list_charges(client_id, status, limit=limit, cursor=cursor))
