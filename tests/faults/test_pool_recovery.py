"""The pool recovers from a database restart or failover: at most one call fails, none when idle."""

from __future__ import annotations

import asyncio
import time

from backend.errors import Unavailable
from backend.gateway.base import Caller, Select
from backend.gateway.direct import AsyncDirectGateway, DirectGateway
from backend.services import Services

POOL_SIZE = 10


def _read(gateway: DirectGateway) -> None:
    gateway.administrative_session().execute(Select("lesson_types", (), limit=1))


def _fill(gateway: DirectGateway) -> list[int]:
    """Open every connection of the pool and return their server process ids."""
    pool = gateway._pool
    held = [pool.getconn() for _ in range(POOL_SIZE)]
    pids = [conn.info.backend_pid for conn in held]
    for conn in held:
        pool.putconn(conn)
    return pids


def _fill_one(gateway: DirectGateway) -> list[int]:
    with gateway._pool.connection() as conn:
        return [conn.info.backend_pid]


def _wait_until_gone(pg, pids: list[int]) -> None:
    for _ in range(500):
        left = pg.admin.execute(
            "select count(*) from pg_stat_activity where pid = any(%s)", (pids,)
        ).fetchone()[0]
        if not left:
            return
        time.sleep(0.01)
    raise AssertionError(f"terminated server processes still running: {pids}")


def _failures_after_termination(pg, gateway: DirectGateway, calls: int = 20) -> list[Exception]:
    pids = _fill(gateway)
    pg.admin.execute("select pg_terminate_backend(pid) from unnest(%s::int[]) as pid", (pids,))
    _wait_until_gone(pg, pids)
    failed: list[Exception] = []
    for _ in range(calls):
        try:
            _read(gateway)
        except Unavailable as exc:
            failed.append(exc)
    return failed


def test_an_idle_pool_whose_connections_were_all_terminated_fails_no_call(pg):
    with DirectGateway(pg.url, min_size=POOL_SIZE, max_size=POOL_SIZE) as gateway:
        _read(gateway)

        failed = _failures_after_termination(pg, gateway)

        assert failed == []


def test_a_pool_terminated_under_way_fails_at_most_one_call_and_that_one_retryable(pg):
    with DirectGateway(pg.url, min_size=POOL_SIZE, max_size=POOL_SIZE) as gateway:
        _read(gateway)
        pids = _fill(gateway)
        pg.admin.execute("select pg_terminate_backend(pid) from unnest(%s::int[]) as pid", (pids,))

        failed: list[Exception] = []
        for _ in range(20):  # at once: the servers may not have closed their sockets yet
            try:
                _read(gateway)
            except Unavailable as exc:
                failed.append(exc)

        assert len(failed) <= 1
        assert all(exc.retryable for exc in failed)


def test_a_call_whose_connection_broke_before_commit_is_sent_once_more(pg, monkeypatch):
    import backend.gateway.direct as direct

    monkeypatch.setattr(direct, "_suspect", lambda conn: False)  # the checkout sees nothing
    with DirectGateway(pg.url, min_size=1, max_size=1) as gateway:
        coach = pg.sign_up()
        services = Services(gateway.session(Caller.user(coach.id, email=coach.email)))
        services.clients.create(first_name="Before")
        (pid,) = _fill_one(gateway)
        pg.admin.execute("select pg_terminate_backend(%s)", (pid,))
        _wait_until_gone(pg, [pid])

        services.clients.create(first_name="After")

        names = pg.admin.execute(
            "select first_name from public.clients where coach_id = %s order by first_name",
            (coach.id,),
        ).fetchall()
        assert [n for (n,) in names] == ["After", "Before"]


def test_an_async_pool_whose_connections_were_all_terminated_fails_no_call(pg):
    async def scenario() -> list[Exception]:
        gateway = AsyncDirectGateway(pg.url, min_size=4, max_size=4)
        session = gateway.administrative_session()
        try:
            await session.execute(Select("lesson_types", (), limit=1))
            pids = [
                r[0]
                for r in pg.admin.execute(
                    "select pid from pg_stat_activity where backend_type = 'client backend'"
                    " and pid <> pg_backend_pid() and datname = current_database()"
                ).fetchall()
            ]
            pg.admin.execute(
                "select pg_terminate_backend(pid) from unnest(%s::int[]) as pid", (pids,)
            )
            _wait_until_gone(pg, pids)
            failed: list[Exception] = []
            for _ in range(8):
                try:
                    await session.execute(Select("lesson_types", (), limit=1))
                except Unavailable as exc:
                    failed.append(exc)
            return failed
        finally:
            await gateway.close()

    assert asyncio.run(scenario()) == []
