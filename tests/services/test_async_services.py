"""The asyncio service API over the async direct gateway: the same rules, the same errors."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from backend.errors import DoubleBooking, NotFound, ValidationError
from backend.gateway.base import Caller
from backend.gateway.direct import AsyncDirectGateway
from backend.services import AsyncServices
from tests.services.support import hours_from_now

pytestmark = pytest.mark.direct_only  # reads or configures the local database


def run(pg, coach, scenario):
    async def main():
        gateway = AsyncDirectGateway(pg.url, min_size=1, max_size=2)
        try:
            return await scenario(AsyncServices(gateway.session(Caller.user(coach.id))))
        finally:
            await gateway.close()

    return asyncio.run(main())


def test_async_services_create_book_pay_and_read(pg, coach):
    async def scenario(svc: AsyncServices):
        ann = await svc.clients.create(first_name="Ann")
        single = await svc.lesson_types.create(name="Single", duration_minutes=60, price_cents=5000)
        lesson = await svc.lessons.create(
            client_ids=[ann.id], start_time=hours_from_now(-3), lesson_type_id=single.id
        )
        await svc.lessons.complete(lesson.id)
        [charge] = (await svc.payments.charges(ann.id)).items
        payment = await svc.payments.record(
            client_id=ann.id, participant_ids=[charge.id], method="card"
        )
        return payment, await svc.reads.balance(ann.id), (await svc.reads.history(ann.id)).items

    payment, balance, history = run(pg, coach, scenario)

    assert (payment.amount_cents, balance.unpaid_cents, history[0].payment_status) == (
        5000,
        0,
        "paid",
    )


def test_async_services_map_refusals_to_the_same_typed_errors(pg, coach):
    async def scenario(svc: AsyncServices):
        ann = await svc.clients.create(first_name="Ann")
        start = hours_from_now(24)
        await svc.lessons.create(
            client_ids=[ann.id], start_time=start, end_time=start + timedelta(hours=1)
        )
        refusals = []
        for attempt in (
            svc.lessons.create(
                client_ids=[ann.id], start_time=start, end_time=start + timedelta(hours=1)
            ),
            svc.clients.update(uuid.uuid4(), first_name="Ghost"),
            svc.lessons.cancel_recurring(uuid.uuid4()),
        ):
            try:
                await attempt
            except Exception as exc:  # collected, asserted below
                refusals.append(type(exc))
        return refusals

    assert run(pg, coach, scenario) == [DoubleBooking, NotFound, NotFound]


def test_async_validation_fails_before_the_round_trip(pg, coach):
    async def scenario(svc: AsyncServices):
        await svc.lessons.create(
            client_ids=[], start_time=hours_from_now(1), end_time=hours_from_now(2)
        )

    with pytest.raises(ValidationError):
        run(pg, coach, scenario)


def test_async_a_write_sent_twice_with_one_key_is_done_once(pg, coach):
    async def scenario(svc: AsyncServices):
        first = await svc.clients.create(first_name="Ann", idempotency_key="ann")
        again = await svc.clients.create(first_name="Ann", idempotency_key="ann")
        return first, again

    first, again = run(pg, coach, scenario)

    assert again == first
    assert pg.admin.execute(
        "select count(*) from public.clients where coach_id = %s", (coach.id,)
    ).fetchone() == (1,)
