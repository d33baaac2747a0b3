"""Fixtures for running past one process and one database: the pooled URL of the test database."""

from __future__ import annotations

import pytest

from backend.db.connect import database_name
from backend.testing import TestDatabase
from backend.testing.pgbouncer import PgBouncer


@pytest.fixture
def pooled_url(pg: TestDatabase, pgbouncer: PgBouncer) -> str:
    """The test database through PgBouncer in transaction mode (20 server connections)."""
    return pgbouncer.url(database_name(pg.url))
