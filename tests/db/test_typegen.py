"""`backend db types`: Supabase's generator over a freshly migrated scratch database.

The generator is the real `@supabase/postgres-meta` (installed by `npm ci`
from the committed lock file) against the real test server.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from backend.db import typegen
from backend.db.connect import connect
from backend.db.project import Project, find_project
from backend.testing.database import DatabaseServer
from tests.db.test_cli import run_cli


@pytest.fixture
def project_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """This project's SQL and committed types in a scratch folder, sharing the tool cache."""
    real = find_project()
    for folder in ("migrations", "functions", "views", "policies", "supabase"):
        shutil.copytree(real.root / folder, tmp_path / folder)
    monkeypatch.setenv("BACKEND_PROJECT_DIR", str(tmp_path))
    monkeypatch.setenv("BACKEND_CACHE_DIR", str(real.cache_dir))
    return Project(tmp_path)


def _scratch_databases(server: DatabaseServer) -> list[str]:
    with connect(server.admin_url, autocommit=True) as conn:
        rows = conn.execute(
            "select datname from pg_database where datname like 'backend\\_types\\_%'"
        ).fetchall()
    return [row[0] for row in rows]


def test_committed_types_are_what_the_migrations_generate(
    backend_server: DatabaseServer,
) -> None:
    project = find_project()
    generated = typegen.generate(project, backend_server.admin_url)
    assert not typegen.stale(project, generated), "run `backend db types`"


def test_check_fails_on_a_stale_file_and_leaves_no_scratch_database(
    project_copy: Project, backend_server: DatabaseServer, capsys: pytest.CaptureFixture[str]
) -> None:
    target = typegen.types_file(project_copy)
    target.write_text(target.read_text().replace("unpaid_cents", "unpaid"))
    url = backend_server.admin_url

    code, _, err = run_cli(["db", "types", "--check", "--db-url", url], capsys)

    assert code == 1
    assert "supabase/types/database.ts is stale; run `backend db types`" in err
    assert _scratch_databases(backend_server) == []


def test_types_rewrites_a_stale_file_then_check_passes(
    project_copy: Project, backend_server: DatabaseServer, capsys: pytest.CaptureFixture[str]
) -> None:
    target = typegen.types_file(project_copy)
    target.unlink()
    url = backend_server.admin_url

    assert run_cli(["db", "types", "--db-url", url], capsys)[0] == 0
    code, out, _ = run_cli(["db", "types", "--check", "--db-url", url], capsys)

    assert code == 0 and "is up to date" in out
    assert target.read_text() == typegen.types_file(find_project()).read_text()


def test_a_new_column_reaches_the_types(
    project_copy: Project, backend_server: DatabaseServer
) -> None:
    (project_copy.migrations_dir / "20991231000000_client_nickname.sql").write_text(
        "alter table public.clients add column nickname text;\n"
    )

    generated = typegen.generate(project_copy, backend_server.admin_url)

    clients = generated.split("      clients: {", 1)[1].split("Insert:", 1)[0]
    assert "nickname: string | null" in clients


def test_node_url_keeps_a_socket_folder_and_a_password() -> None:
    socket = typegen.node_url("postgresql://postgres:@/db1?host=/tmp/pg%20data")
    tcp = typegen.node_url("postgresql://me:p%40ss@127.0.0.1:6543/db2")

    assert socket == "postgresql://postgres@localhost:5432/db1?host=/tmp/pg%20data"
    assert tcp == "postgresql://me:p%40ss@127.0.0.1:6543/db2?sslmode=disable"
