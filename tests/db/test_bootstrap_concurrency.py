"""The bootstrap creates cluster-wide roles: two databases bootstrapped at once both pass."""

from __future__ import annotations

import threading
from pathlib import Path

from backend.db import migrations
from backend.db.connect import connect
from backend.db.embedded import start_embedded, stop_embedded
from backend.db.project import Project, find_project


def test_two_databases_of_a_new_cluster_migrate_at_the_same_time(tmp_path: Path) -> None:
    # A cluster of its own, where the API roles do not exist yet (as on a
    # fresh machine, where parallel test workers migrate their templates).
    scratch = Project(tmp_path)
    server = start_embedded(scratch, name="fresh")
    try:
        with connect(server.url(), autocommit=True) as conn:
            conn.execute("create database one")
            conn.execute("create database two")
        errors: list[BaseException] = []

        def run(database: str) -> None:
            try:
                migrations.migrate(find_project(), server.url(database))
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(db,)) for db in ("one", "two")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        assert errors == []
        with connect(server.url("two")) as conn:
            roles = conn.execute(
                "select count(*) from pg_roles where rolname in"
                " ('anon', 'authenticated', 'service_role', 'authenticator')"
            ).fetchone()
        assert roles == (4,)
    finally:
        stop_embedded(scratch, name="fresh")
