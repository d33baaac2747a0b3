"""`backend serve --workers 2` without Upstash says, before it starts the workers, that every
limit is multiplied (each worker's own error is tested in test_in_process_limits_warning.py:
a worker's start-up under load can outlast uvicorn's health check, so it is not waited for)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from backend.testing.processes import free_port

EXPECTED = ("WARNING: 2 workers without UPSTASH_REDIS_REST_URL", "(2 worker(s))")


def _serve() -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UPSTASH_", "WEB_CONCURRENCY"))}
    env["DATABASE_URL"] = "postgresql://postgres@127.0.0.1:1/unused"  # the parent never connects
    command = [sys.executable, "-m", "backend.cli", "serve", "--workers", "2"]
    return subprocess.Popen(
        [*command, "--port", str(free_port())],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: stopped with its workers below
    )


def test_two_workers_without_upstash_are_warned_about_loudly():
    process = _serve()
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(
            any(text in line for line in list(lines)) for text in EXPECTED
        ):
            time.sleep(0.1)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
        reader.join(timeout=5)

    output = "".join(lines)
    for text in EXPECTED:
        assert text in output, output[-2000:]
