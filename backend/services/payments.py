"""Payments: record money received for a client's charges; the database computes the amount.

`record` counts against the "payment" rate limit of the calling user. Stripe
checkouts are created and settled by server code (`backend.payments`), not here.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from backend.gateway.base import Filter, Order, Rpc, Select, eq
from backend.models import LessonParticipant, Payment, PaymentRecord, PaymentStatus, as_params
from backend.services.base import (
    AsyncService,
    Operation,
    SyncService,
    parse_input,
    parse_row,
    parse_rows,
)


def record_payment(data: PaymentRecord) -> Operation[Payment]:
    rpc = Rpc("record_payment", as_params(data))
    return Operation(rpc, lambda raw: parse_row(Payment, raw), limit="payment")


def list_payments(client_id: UUID | None) -> Operation[list[Payment]]:
    filters = (eq("client_id", client_id),) if client_id else ()
    request = Select("payments", filters, order=(Order("created_at", descending=True),))
    return Operation(request, lambda rows: parse_rows(Payment, rows))


def get_payment(payment_id: UUID) -> Operation[Payment]:
    request = Select("payments", (eq("id", payment_id),), single=True)
    return Operation(request, lambda raw: parse_row(Payment, raw))


def list_charges(
    client_id: UUID, status: PaymentStatus | None
) -> Operation[list[LessonParticipant]]:
    filters: tuple[Filter, ...] = (eq("client_id", client_id),)
    if status:
        filters += (eq("payment_status", status),)
    request = Select("lesson_participants", filters, order=(Order("created_at"),))
    return Operation(request, lambda rows: parse_rows(LessonParticipant, rows))


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

    def list(self, client_id: UUID | None = None) -> builtins.list[Payment]:
        return self._call(list_payments(client_id))

    def get(self, payment_id: UUID) -> Payment:
        return self._call(get_payment(payment_id))

    def charges(
        self, client_id: UUID, status: PaymentStatus | None = "unpaid"
    ) -> builtins.list[LessonParticipant]:
        """A client's charges (participants), unpaid ones by default."""
        return self._call(list_charges(client_id, status))


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

    async def list(self, client_id: UUID | None = None) -> builtins.list[Payment]:
        return await self._call(list_payments(client_id))

    async def get(self, payment_id: UUID) -> Payment:
        return await self._call(get_payment(payment_id))

    async def charges(
        self, client_id: UUID, status: PaymentStatus | None = "unpaid"
    ) -> builtins.list[LessonParticipant]:
        return await self._call(list_charges(client_id, status))
