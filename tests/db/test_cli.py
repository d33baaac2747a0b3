"""The command line: clear one-line errors, guarded resets, the Supabase CLI bundle."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from backend.cli import main
from backend.db import bundle
from backend.db.project import Project
from tests.db.conftest import write


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_unknown_option_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["db", "migrate", "--no-such-flag"], capsys)
    assert code == 2
    assert err.strip().splitlines() == ["error: No such option: --no-such-flag"]


def test_bad_database_url_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(
        ["db", "status", "--db-url", "postgresql://x:y@host:notaport/db"], capsys
    )
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "y@" not in lines[0]  # the password never reaches the terminal


def test_unreachable_database_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(
        ["db", "migrate", "--db-url", "postgresql://postgres@127.0.0.1:1/x"], capsys
    )
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert "could not connect" in err


def test_reset_refuses_a_remote_database_without_force(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run_cli(
        ["db", "reset", "--db-url", "postgresql://postgres@db.example.test:5432/postgres"], capsys
    )
    assert code == 1
    assert "refusing to reset non-local database" in err


def test_missing_migrations_folder_is_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    empty_db: str,
) -> None:
    (tmp_path / "supabase").mkdir()
    monkeypatch.setenv("BACKEND_PROJECT_DIR", str(tmp_path))
    code, _, err = run_cli(["db", "migrate", "--db-url", empty_db], capsys)
    assert code == 1
    assert err.strip().splitlines() == [f"error: no migrations folder at {tmp_path / 'migrations'}"]


def test_bundle_mirrors_migrations_and_check_detects_staleness(project: Project) -> None:
    write(project, "migrations/20260101000000_notes.sql", "create table public.notes (id int);\n")
    write(project, "policies/notes.sql", "alter table public.notes enable row level security;\n")
    assert bundle.stale_files(project)

    written = bundle.write_bundle(project)

    assert written == [
        "00000000000000_supabase_bootstrap.sql",
        "20260101000000_notes.sql",
        "20260101000001_declarative_schema.sql",
    ]
    assert bundle.stale_files(project) == []
    # A changed policy needs a new generated migration; the old one stays as history.
    write(project, "policies/notes.sql", "alter table public.notes force row level security;\n")
    assert bundle.stale_files(project) == ["(a new declarative_schema migration)"]
    assert bundle.write_bundle(project) == ["20260101000002_declarative_schema.sql"]
    assert bundle.stale_files(project) == []


def test_bundle_applies_with_the_same_result_as_migrate(
    project: Project, empty_db: str, backend_server: object
) -> None:
    """Applying the bundle file by file (as `supabase db push` does) builds the same schema."""
    from backend.db import migrations
    from backend.db.connect import connect

    write(project, "migrations/20260101000000_notes.sql", "create table public.notes (id int);\n")
    write(
        project,
        "views/note_ids.sql",
        "create or replace view public.note_ids with (security_invoker = true)"
        " as select id from public.notes;\n",
    )
    bundle.write_bundle(project)
    with connect(empty_db, autocommit=True) as conn:
        for path in sorted(project.bundle_dir.glob("*.sql")):
            with conn.transaction():
                migrations.execute_script(conn, path.read_text(), path.name)
        views = conn.execute(
            "select table_name from information_schema.views where table_schema = 'public'"
        ).fetchall()
    assert views == [("note_ids",)]


def test_backend_entry_point_prints_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "backend.cli", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "migrate" in result.stdout or "db" in result.stdout
