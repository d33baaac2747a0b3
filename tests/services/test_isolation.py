"""Two coaches interleaved on one pool never see each other's rows (sync threads and asyncio)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from backend.gateway.base import Caller
from backend.gateway.direct import AsyncDirectGateway, DirectGateway
from backend.services import AsyncServices, Services
from tests.services.support import hours_from_now

pytestmark = pytest.mark.direct_only  # reads or configures the local database

ROUNDS = 15


def _work(services: Services, tag: str, barrier: threading.Barrier, seen: list[str]) -> None:
    barrier.wait()
    lesson_type = services.lesson_types.create(
        name=f"{tag}-type", duration_minutes=30, price_cents=100
    )
    for i in range(ROUNDS):
        client = services.clients.create(first_name=f"{tag}-{i}")
        services.lessons.create(
            client_ids=[client.id], start_time=hours_from_now(i + 1), lesson_type_id=lesson_type.id
        )
        seen.extend(c.first_name for c in services.clients.list().items)
        seen.extend(b.first_name for b in services.reads.balances().items)
        seen.extend(t.name for t in services.lesson_types.list().items)


def test_two_coaches_interleaved_on_one_pool_see_only_their_own_rows(pg):
    a, b = pg.sign_up(), pg.sign_up()
    with DirectGateway(pg.url, min_size=2, max_size=2) as gateway:  # both share two connections
        seen: dict[str, list[str]] = {"a": [], "b": []}
        barrier = threading.Barrier(2)
        threads = [
            threading.Thread(
                target=_work,
                args=(
                    Services(gateway.session(Caller.user(c.id, email=c.email))),
                    tag,
                    barrier,
                    seen[tag],
                ),
            )
            for c, tag in ((a, "a"), (b, "b"))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)

    assert seen["a"] and seen["b"]
    assert all(name.startswith("a-") for name in seen["a"])
    assert all(name.startswith("b-") for name in seen["b"])


def test_a_pooled_connection_keeps_no_identity_after_a_request(pg, coach):
    with DirectGateway(pg.url, min_size=1, max_size=1) as gateway:
        Services(gateway.session(Caller.user(coach.id))).clients.create(first_name="Ann")
        with gateway._pool.connection() as conn:
            row = conn.execute(
                "select current_user as who, current_setting('request.jwt.claims', true) as claims"
            ).fetchone()

    assert row is not None
    assert (row["who"], row["claims"] or "") == ("postgres", "")


async def _awork(services: AsyncServices, tag: str) -> list[str]:
    seen: list[str] = []
    for i in range(ROUNDS):
        await services.clients.create(first_name=f"{tag}-{i}")
        seen.extend(c.first_name for c in (await services.clients.list()).items)
        await asyncio.sleep(0)
    return seen


def test_two_coaches_interleaved_on_one_async_pool_see_only_their_own_rows(pg):
    a, b = pg.sign_up(), pg.sign_up()

    async def run() -> tuple[list[str], list[str]]:
        gateway = AsyncDirectGateway(pg.url, min_size=2, max_size=2)
        try:
            return await asyncio.gather(
                _awork(AsyncServices(gateway.session(Caller.user(a.id))), "a"),
                _awork(AsyncServices(gateway.session(Caller.user(b.id))), "b"),
            )
        finally:
            await gateway.close()

    seen_a, seen_b = asyncio.run(run())

    assert len(seen_a) == len(seen_b) == ROUNDS * (ROUNDS + 1) // 2
    assert all(n.startswith("a-") for n in seen_a) and all(n.startswith("b-") for n in seen_b)
