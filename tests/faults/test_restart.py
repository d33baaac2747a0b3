"""PostgreSQL stopped and started under a running `Backend`: once it is back, no call fails.

The test runs its own embedded server (not the suite's, which other tests share) and
restarts it with `pg_ctl`, as an operator or a failover would.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from psycopg.types.json import Jsonb

from backend.app import Backend
from backend.config import load_settings
from backend.db import migrations
from backend.db.connect import connect
from backend.db.embedded import EmbeddedServer, resume_embedded, start_embedded, stop_embedded
from backend.db.project import find_project
from backend.errors import Unavailable
from backend.gateway.base import Caller
from backend.gateway.direct import DirectGateway

NAME = f"restart-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedServer]:
    project = find_project()
    running = start_embedded(project, name=NAME)
    url = running.url("postgres")
    with connect(url, autocommit=True) as conn:
        conn.execute("drop database if exists restart_test with (force)")
        conn.execute("create database restart_test")
    migrations.migrate(project, running.url("restart_test"))
    yield running
    stop_embedded(project, name=NAME)


def test_a_backend_recovers_from_a_restart_with_no_failed_call_once_the_server_is_back(server):
    url = server.url("restart_test")
    coach_id = uuid.uuid4()
    with connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into auth.users (id, email, aud, role, raw_user_meta_data)"
            " values (%s, %s, 'authenticated', 'authenticated', %s)",
            (coach_id, f"{coach_id.hex[:8]}@example.test", Jsonb({"full_name": "R"})),
        )
    # A short checkout timeout: the pool's own reconnection back-off (1 s, 2 s, 4 s…) must
    # not be what the calls after the restart wait for.
    gateway = DirectGateway(url, min_size=4, max_size=4, timeout=1.0)
    backend = Backend(load_settings(database_url=url), gateway)
    services = backend.services_for(Caller.user(coach_id))
    try:
        services.clients.create(first_name="Before")
        project = find_project()
        stop_embedded(project, name=NAME)
        down = []
        for _ in range(3):  # calls while the server is down fail, retryable
            with pytest.raises(Unavailable) as caught:
                services.clients.list()
            down.append(caught.value)
        resume_embedded(server)

        failed = []
        for number in range(10):
            try:
                services.clients.create(first_name=f"After {number}")
            except Unavailable as exc:
                failed.append(exc)

        assert all(exc.retryable for exc in down)
        assert failed == []
        assert len(services.clients.list(limit=50).items) == 11
    finally:
        backend.close()
