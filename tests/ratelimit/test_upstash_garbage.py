"""Upstash answers that are not the promised shape, and a Redis that is down behind it: each is
a store failure, answered by the policy's failure mode (auth and payment closed, lessons open).

Upstash's REST API can not run here: it is played at the HTTP level, by a loopback server
answering every request with one fixed body (garbage), or by the Upstash adapter of
`backend.testing.upstash` in front of a Redis port where nothing listens.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from ratelimit_helpers import MakeLimiter

from backend.testing.redis import UpstashEndpoint
from backend.testing.upstash import UpstashAdapter

# Bodies of HTTP 200 answers, none of them a sliding window's reply.
GARBAGE = [
    b"[]",
    b"null",
    b'"garbage"',
    b"{}",
    b'{"result": null}',
    b'{"result": []}',
    b'{"result": [1]}',
    b'{"result": ["a", "b"]}',
    b'{"result": {"allowed": true}}',
    b'{"result": [true, "x"]}',
    b'{"result": "1"}',
    b'{"result": [null, null]}',
    b'[{"result": 1}, {"result": 2}]',
    b'{"error": null}',
    b"not json at all",
    b"\x00\xff\xfe",
    b'{"result": 1e400}',
]
STATUSES = [500, 502, 401, 429, 404]


class FixedAnswer(BaseHTTPRequestHandler):
    body = b""
    status = 200

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(self.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def fake_upstash(upstash: UpstashEndpoint) -> Iterator[tuple[type[FixedAnswer], UpstashEndpoint]]:
    handler = type("Answer", (FixedAnswer,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield handler, dataclasses.replace(upstash, url=f"http://{host!s}:{port}")
    server.shutdown()
    server.server_close()


def _modes(limiter) -> dict[str, tuple[bool, bool]]:
    answers = {p: limiter.check(p, "user-1") for p in ("auth", "payment", "lesson")}
    return {p: (d.allowed, d.degraded) for p, d in answers.items()}


FAILURE_MODES = {"auth": (False, True), "payment": (False, True), "lesson": (True, True)}


def test_every_garbage_answer_follows_the_failure_modes(upstash_limiter: MakeLimiter, fake_upstash):
    handler, endpoint = fake_upstash
    limiter = upstash_limiter(endpoint=endpoint, upstash_timeout_seconds=1.0)
    seen = {}
    for body in GARBAGE:
        handler.body, handler.status = body, 200
        seen[body] = _modes(limiter)
    for status in STATUSES:
        handler.body, handler.status = b'{"error": "no"}', status
        seen[status] = _modes(limiter)

    assert {k: v for k, v in seen.items() if v != FAILURE_MODES} == {}


def test_garbage_in_async_checks_follows_the_failure_modes(upstash_limiter, fake_upstash):
    handler, endpoint = fake_upstash
    limiter = upstash_limiter(endpoint=endpoint, upstash_timeout_seconds=1.0)

    async def check_all() -> list[tuple[bool, bool]]:
        answers = []
        for body in GARBAGE:
            handler.body = body
            decision = await limiter.acheck("payment", "user-1")
            answers.append((decision.allowed, decision.degraded))
        await limiter.aclose()
        return answers

    assert set(asyncio.run(check_all())) == {(False, True)}


def test_redis_down_behind_upstash_follows_the_failure_modes(upstash_limiter, upstash):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    with UpstashAdapter(f"redis://127.0.0.1:{dead_port}", token=upstash.token) as adapter:
        endpoint = dataclasses.replace(upstash, url=adapter.url)
        limiter = upstash_limiter(endpoint=endpoint, upstash_timeout_seconds=1.0)

        assert _modes(limiter) == FAILURE_MODES


GARBAGE_SHAPES_TRIED = len(GARBAGE) * 2 + len(STATUSES) + 1
