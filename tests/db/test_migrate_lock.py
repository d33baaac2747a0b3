"""A `migrate` waiting on another one's lock says so, and gives up after its lock timeout."""

from __future__ import annotations

import threading
import time

import pytest

from backend.db import migrations
from backend.db.connect import connect
from backend.db.project import Project
from tests.db.test_cli import run_cli


@pytest.fixture
def lock_held(empty_db: str):
    """Another migrate's advisory lock on the database, held until the test releases it."""
    conn = connect(empty_db, autocommit=True)
    conn.execute("select pg_advisory_lock(%s)", (migrations.ADVISORY_LOCK_KEY,))
    yield conn
    conn.close()


def test_migrate_gives_up_after_its_lock_timeout_and_applies_nothing(
    project: Project, empty_db: str, lock_held
) -> None:
    said: list[str] = []
    began = time.monotonic()

    with pytest.raises(migrations.MigrationError, match=r"gave up after 0\.3s waiting"):
        migrations.migrate(project, empty_db, progress=said.append, lock_timeout=0.3)

    assert 0.3 <= time.monotonic() - began < 5
    assert said == ["waiting up to 0.3s for another `backend db migrate` on this database"]
    tracked = lock_held.execute("select to_regclass('supabase_migrations.schema_migrations')")
    assert tracked.fetchone() == (None,)


def test_migrate_goes_on_once_the_other_one_finishes(
    project: Project, empty_db: str, lock_held
) -> None:
    release = threading.Timer(
        0.3,
        lambda: lock_held.execute("select pg_advisory_unlock(%s)", (migrations.ADVISORY_LOCK_KEY,)),
    )
    release.start()

    result = migrations.migrate(project, empty_db, lock_timeout=30)

    release.join()
    assert "supabase/bootstrap.sql" in result.applied


def test_the_lock_timeout_is_an_option_of_the_command(
    project: Project, empty_db: str, lock_held, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("BACKEND_PROJECT_DIR", str(project.root))

    code, out, err = run_cli(
        ["db", "migrate", "--db-url", empty_db, "--lock-timeout", "0.2"], capsys
    )

    assert code == 1
    assert "waiting up to 0.2s" in out
    assert "gave up after 0.2s waiting for another `backend db migrate`" in err
