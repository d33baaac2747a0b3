"""The pytest plugin: a migrated database per test and impersonation of every principal.

Registered through the `pytest11` entry point, so any project that installs
this package gets the fixtures:

- `pg`: a fresh copy of the migrated database (`TestDatabase`);
- `coach_factory`: signs a new coach up through `auth.users`;
- `as_coach(coach)`, `as_anon()`, `as_service()`: one transaction as that
  principal, impersonated exactly as PostgREST does; the first two refuse to
  run as a role that bypasses row level security.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from backend.db import migrations
from backend.db.project import find_project
from backend.testing.database import Coach, DatabaseServer, TestDatabase, server_for_tests
from backend.testing.pgbouncer import pgbouncer  # noqa: F401
from backend.testing.redis import redis_url, upstash  # noqa: F401


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def backend_server() -> DatabaseServer:
    return server_for_tests(find_project())


@pytest.fixture(scope="session")
def migrated_template(backend_server: DatabaseServer) -> Iterator[str]:
    """Name of a database migrated once for the whole session."""
    name = f"backend_tpl_{_worker()}_{uuid.uuid4().hex[:8]}"
    backend_server.drop_database(name)
    url = backend_server.create_database(name)
    migrations.migrate(find_project(), url)
    yield name
    backend_server.drop_database(name)


@pytest.fixture
def pg(backend_server: DatabaseServer, migrated_template: str) -> Iterator[TestDatabase]:
    name = f"backend_test_{_worker()}_{uuid.uuid4().hex[:10]}"
    url = backend_server.create_database(name, template=migrated_template)
    db = TestDatabase(url)
    yield db
    db.close()
    backend_server.drop_database(name)


@pytest.fixture
def coach_factory(pg: TestDatabase) -> Callable[..., Coach]:
    return pg.sign_up


@pytest.fixture
def as_coach(pg: TestDatabase) -> Callable[..., Any]:
    return pg.as_coach


@pytest.fixture
def as_anon(pg: TestDatabase) -> Callable[..., Any]:
    return pg.as_anon


@pytest.fixture
def as_service(pg: TestDatabase) -> Callable[..., Any]:
    return pg.as_service


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A run that collected nothing has proven nothing: fail it."""
    if session.testscollected == 0 and not session.config.option.collectonly:
        session.exitstatus = pytest.ExitCode.NO_TESTS_COLLECTED
