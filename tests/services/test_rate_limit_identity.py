"""Whose budget a rate-limited call counts against: the user's, never a shared one for servers."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from backend.errors import RateLimited
from backend.gateway.base import Caller, Request, Rpc
from backend.services.base import AsyncService, Operation, SyncService


class CountingLimiter:
    """Allows `limit` calls per (policy, identifier), like the real limiter's window."""

    def __init__(self, limit: int = 30) -> None:
        self.limit = limit
        self.calls: list[tuple[str, str]] = []

    def enforce(self, policy: str, identifier: str) -> None:
        self.calls.append((policy, identifier))
        if self.calls.count((policy, identifier)) > self.limit:
            raise RateLimited(f"too many {policy} calls", retry_after=60)

    async def aenforce(self, policy: str, identifier: str) -> None:
        self.enforce(policy, identifier)


class Answering:
    def __init__(self, caller: Caller) -> None:
        self.caller = caller

    def execute(self, request: Request) -> Any:
        return 1


class AsyncAnswering(Answering):
    async def execute(self, request: Request) -> Any:  # type: ignore[override]
        return 1


LESSON_WRITE = Operation(Rpc("create_lesson", {}), lambda raw: raw, limit="lesson")
PAYMENT = Operation(Rpc("record_payment", {}), lambda raw: raw, limit="payment")


def test_administrative_sessions_are_not_rate_limited():
    limiter = CountingLimiter(limit=30)
    job = SyncService(Answering(Caller.service()), limiter)

    for _ in range(100):
        assert job._call(LESSON_WRITE) == 1
        assert job._call(PAYMENT) == 1

    assert limiter.calls == []


def test_administrative_async_sessions_are_not_rate_limited():
    limiter = CountingLimiter(limit=10)
    job = AsyncService(AsyncAnswering(Caller.service()), limiter)

    async def main() -> None:
        for _ in range(50):
            assert await job._call(PAYMENT) == 1

    asyncio.run(main())
    assert limiter.calls == []


def test_server_jobs_do_not_use_up_the_anonymous_budget_or_each_other():
    limiter = CountingLimiter(limit=30)
    for _ in range(3):  # three jobs, each well past one user's budget
        job = SyncService(Answering(Caller.service()), limiter)
        for _ in range(40):
            job._call(LESSON_WRITE)

    anon = SyncService(Answering(Caller.anon()), limiter)
    assert anon._call(LESSON_WRITE) == 1
    assert limiter.calls == [("lesson", "anonymous")]


def test_users_count_against_their_own_id_and_anonymous_callers_share_one():
    from backend.services.base import rate_limit_identifier

    user = uuid.uuid4()

    assert rate_limit_identifier(Caller.user(user)) == str(user)
    assert rate_limit_identifier(Caller.anon()) == "anonymous"
    assert rate_limit_identifier(Caller.service()) is None


def test_a_user_is_still_rate_limited():
    limiter = CountingLimiter(limit=30)
    service = SyncService(Answering(Caller.user(uuid.uuid4())), limiter)
    for _ in range(30):
        service._call(LESSON_WRITE)

    with pytest.raises(RateLimited):
        service._call(LESSON_WRITE)
