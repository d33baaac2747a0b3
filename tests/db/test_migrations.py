"""The migration engine: idempotent, refuses edited history, all-or-nothing, one at a time."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest

from backend.db import migrations
from backend.db.connect import connect
from backend.db.project import Project
from tests.db.conftest import write

TABLE_V1 = "create table public.notes (id bigint primary key, body text not null);\n"


def catalog_snapshot(url: str) -> dict[str, Any]:
    """Everything a migration could leave behind: relations, functions, roles' grants, history."""
    with connect(url) as conn:
        relations = conn.execute(
            "select n.nspname, c.relname, c.relkind from pg_class c"
            " join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')"
            " order by 1, 2"
        ).fetchall()
        functions = conn.execute(
            "select p.oid::regprocedure::text from pg_proc p"
            " join pg_namespace n on n.oid = p.pronamespace"
            " where n.nspname not in ('pg_catalog', 'information_schema') order by 1"
        ).fetchall()
        history: list[Any] = []
        if conn.execute("select to_regclass('supabase_migrations.schema_migrations')").fetchone()[
            0
        ]:
            history = conn.execute(
                "select version, checksum from supabase_migrations.schema_migrations order by 1"
            ).fetchall()
    return {"relations": relations, "functions": functions, "history": history}


def test_second_migrate_changes_nothing(project: Project, empty_db: str) -> None:
    write(project, "migrations/20260101000000_notes.sql", TABLE_V1)
    first = migrations.migrate(project, empty_db)
    before = catalog_snapshot(empty_db)

    second = migrations.migrate(project, empty_db)

    assert first.applied == ["supabase/bootstrap.sql", "migrations/20260101000000_notes.sql"]
    assert second.applied == []
    assert catalog_snapshot(empty_db) == before


def test_applied_migration_is_recorded_with_supabase_cli_columns(
    project: Project, empty_db: str
) -> None:
    path = write(project, "migrations/20260101000000_notes.sql", TABLE_V1)
    migrations.migrate(project, empty_db)

    with connect(empty_db) as conn:
        row = conn.execute(
            "select version, name, statements, checksum from supabase_migrations.schema_migrations"
            " where version = '20260101000000'"
        ).fetchone()
    assert row[0:2] == ("20260101000000", "notes")
    assert row[2] == [TABLE_V1.strip().rstrip(";")]
    assert row[3] == migrations.SqlFile("migration", path, "", path.read_text()).checksum


def test_edited_applied_migration_is_refused_by_name(project: Project, empty_db: str) -> None:
    path = write(project, "migrations/20260101000000_notes.sql", TABLE_V1)
    write(project, "migrations/20260102000000_more.sql", "create table public.more (id int);\n")
    migrations.migrate(project, empty_db)
    path.write_text(TABLE_V1 + "alter table public.notes add column title text;\n")
    write(project, "migrations/20260103000000_later.sql", "create table public.later (id int);\n")

    with pytest.raises(migrations.ChangedMigrationError, match=r"20260101000000_notes\.sql"):
        migrations.migrate(project, empty_db)

    # Nothing after the refusal ran, not even the new, valid migration.
    with connect(empty_db) as conn:
        assert conn.execute("select to_regclass('public.later')").fetchone()[0] is None


def test_broken_migration_leaves_database_exactly_as_before(
    project: Project, empty_db: str
) -> None:
    write(project, "migrations/20260101000000_notes.sql", TABLE_V1)
    migrations.migrate(project, empty_db)
    before = catalog_snapshot(empty_db)
    write(
        project,
        "migrations/20260102000000_broken.sql",
        "create table public.half_done (id int);\n"
        "insert into public.half_done values (1);\n"
        "\n"
        "alter table public.notes add column body text;\n",
    )

    with pytest.raises(migrations.MigrationError) as failure:
        migrations.migrate(project, empty_db)

    message = str(failure.value)
    assert "migrations/20260102000000_broken.sql:4:" in message
    assert 'column "body" of relation "notes" already exists' in message
    assert catalog_snapshot(empty_db) == before


def test_error_line_points_inside_a_multi_line_statement(project: Project, empty_db: str) -> None:
    write(
        project,
        "migrations/20260101000000_typo.sql",
        "-- a comment\ncreate table public.t (\n    id int,\n    name texx\n);\n",
    )
    with pytest.raises(
        migrations.MigrationError, match=r"20260101000000_typo\.sql:4: type \"texx\""
    ):
        migrations.migrate(project, empty_db)


def test_concurrent_migrate_runs_apply_each_file_once(project: Project, empty_db: str) -> None:
    # Each migration appends to a log; a second application would add a row
    # (or fail on the create table). The sleep widens the race window.
    write(
        project,
        "migrations/20260101000000_log.sql",
        "create table public.applied_log (name text);\n"
        "select pg_sleep(0.3);\n"
        "insert into public.applied_log values ('one');\n",
    )
    write(
        project,
        "migrations/20260102000000_two.sql",
        "insert into public.applied_log values ('two');\n",
    )
    errors: list[BaseException] = []
    results: list[migrations.MigrateResult] = []

    def run() -> None:
        try:
            results.append(migrations.migrate(project, empty_db))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    with connect(empty_db) as conn:
        rows = conn.execute("select name from public.applied_log order by name").fetchall()
    assert rows == [("one",), ("two",)]
    applied_counts = sorted(len(r.applied) for r in results)
    assert applied_counts == [0, 0, 3]


def test_dry_run_changes_nothing(project: Project, empty_db: str) -> None:
    write(project, "migrations/20260101000000_notes.sql", TABLE_V1)
    before = catalog_snapshot(empty_db)

    result = migrations.migrate(project, empty_db, dry_run=True)

    assert [m.relative for m in result.plan.pending] == ["migrations/20260101000000_notes.sql"]
    assert catalog_snapshot(empty_db) == before


def test_status_reports_applied_pending_and_changed(project: Project, empty_db: str) -> None:
    first = write(project, "migrations/20260101000000_notes.sql", TABLE_V1)
    migrations.migrate(project, empty_db)
    first.write_text(TABLE_V1 + "-- edited\n")
    write(project, "migrations/20260102000000_more.sql", "create table public.more (id int);\n")

    states = {e.file: e.state for e in migrations.status(project, empty_db).entries}

    assert states["migrations/20260101000000_notes.sql"] == "changed"
    assert states["migrations/20260102000000_more.sql"] == "pending"
    assert states["supabase/bootstrap.sql"] == "applied"


def test_declarative_files_are_reapplied_only_when_changed(project: Project, empty_db: str) -> None:
    write(project, "migrations/20260101000000_notes.sql", TABLE_V1)
    view = write(
        project,
        "views/note_bodies.sql",
        "create or replace view public.note_bodies with (security_invoker = true)"
        " as select body from public.notes;\n",
    )
    assert "views/note_bodies.sql" in migrations.migrate(project, empty_db).applied
    assert migrations.migrate(project, empty_db).applied == []

    view.write_text(view.read_text().replace("select body", "select body, id"))
    assert migrations.migrate(project, empty_db).applied == ["views/note_bodies.sql"]
    with connect(empty_db) as conn:
        columns = conn.execute(
            "select column_name from information_schema.columns"
            " where table_name = 'note_bodies' order by ordinal_position"
        ).fetchall()
    assert columns == [("body",), ("id",)]


def test_migrate_records_the_history_that_supabase_db_push_would(
    project: Project, empty_db: str
) -> None:
    """With a current bundle, both tools see the same schema_migrations rows."""
    from backend.db import bundle

    write(project, "migrations/20260101000000_notes.sql", TABLE_V1)
    write(project, "policies/notes.sql", "alter table public.notes enable row level security;\n")
    bundle.write_bundle(project)
    # A second generation: a new migration, so a new generated views-and-policies file.
    write(project, "migrations/20260102000000_more.sql", "create table public.more (id int);\n")
    bundle.write_bundle(project)
    assert len(list(project.bundle_dir.glob("*_declarative_schema.sql"))) == 2

    migrations.migrate(project, empty_db)

    with connect(empty_db) as conn:
        rows = conn.execute(
            "select version, name, statements from supabase_migrations.schema_migrations"
            " order by version"
        ).fetchall()
    bundled = sorted(project.bundle_dir.glob("*.sql"))
    assert [f"{v}_{n}.sql" for v, n, _ in rows] == [p.name for p in bundled]
    assert [r[2] for r in rows] == [
        [st.sql for st in migrations.split_sql(p.read_text())] for p in bundled
    ]


def test_views_and_policies_pushed_by_supabase_cli_count_as_applied(
    project: Project, empty_db: str
) -> None:
    from backend.db import bundle

    write(project, "migrations/20260101000000_notes.sql", TABLE_V1)
    write(project, "policies/notes.sql", "alter table public.notes enable row level security;\n")
    bundle.write_bundle(project)
    with connect(empty_db, autocommit=True) as conn:
        # What `supabase db push` does: each bundle file in a transaction, then its row.
        migrations.execute_script(conn, migrations.TRACKING_DDL, "tracking tables")
        for path in sorted(project.bundle_dir.glob("*.sql")):
            with conn.transaction():
                statements = migrations.execute_script(conn, path.read_text(), path.name)
                version, name = path.stem.split("_", 1)
                conn.execute(
                    "insert into supabase_migrations.schema_migrations (version, name, statements)"
                    " values (%s, %s, %s)",
                    (version, name, statements),
                )

    plan = migrations.status(project, empty_db)

    assert {e.state for e in plan.entries} == {"applied"}
    assert migrations.migrate(project, empty_db).applied == []


def test_edit_of_a_migration_pushed_by_supabase_cli_is_refused(
    project: Project, empty_db: str
) -> None:
    path = write(project, "migrations/20260101000000_notes.sql", TABLE_V1)
    migrations.migrate(project, empty_db)
    with connect(empty_db, autocommit=True) as conn:
        # The Supabase CLI records statements but no checksum.
        conn.execute("update supabase_migrations.schema_migrations set checksum = null")
    path.write_text(TABLE_V1 + "alter table public.notes add column title text;\n")

    with pytest.raises(migrations.ChangedMigrationError, match=r"20260101000000_notes\.sql"):
        migrations.migrate(project, empty_db)


def test_migration_recorded_by_supabase_cli_is_not_applied_again(
    project: Project, empty_db: str
) -> None:
    write(project, "migrations/20260101000000_notes.sql", TABLE_V1)
    migrations.migrate(project, empty_db)  # bootstrap and tracking tables
    write(project, "migrations/20260102000000_cli.sql", "create table public.cli (id int);\n")
    with connect(empty_db, autocommit=True) as conn:
        # What `supabase db push` writes: no checksum column value.
        conn.execute("create table public.cli (id int)")
        conn.execute(
            "insert into supabase_migrations.schema_migrations (version, name, statements)"
            " values ('20260102000000', 'cli', array['create table public.cli (id int)'])"
        )

    assert migrations.migrate(project, empty_db).applied == []


def test_misnamed_migration_file_is_refused(project: Project, empty_db: str) -> None:
    write(project, "migrations/add_notes.sql", TABLE_V1)
    with pytest.raises(migrations.MigrationError, match=r"add_notes\.sql: migration files must be"):
        migrations.migrate(project, empty_db)


def test_failed_migration_is_not_recorded(project: Project, empty_db: str) -> None:
    write(project, "migrations/20260101000000_bad.sql", "select 1/0;\n")
    with pytest.raises(migrations.MigrationError, match="division by zero"):
        migrations.migrate(project, empty_db)
    with connect(empty_db) as conn:
        recorded = conn.execute("select version from supabase_migrations.schema_migrations")
        assert recorded.fetchall() == [(migrations.BOOTSTRAP_VERSION,)]


def test_bootstrap_twice_is_a_no_op_on_existing_objects(empty_db: str, project: Project) -> None:
    migrations.migrate(project, empty_db)
    bootstrap = project.bootstrap_file.read_text()
    with connect(empty_db, autocommit=True) as conn:
        # Re-running the bootstrap on a database that has everything changes nothing.
        before = catalog_snapshot(empty_db)
        migrations.execute_script(conn, bootstrap, "supabase/bootstrap.sql")
        assert catalog_snapshot(empty_db) == before
        roles = conn.execute(
            "select rolname, rolbypassrls from pg_roles where rolname in"
            " ('anon', 'authenticated', 'service_role', 'authenticator') order by 1"
        ).fetchall()
    assert roles == [
        ("anon", False),
        ("authenticated", False),
        ("authenticator", False),
        ("service_role", True),
    ]


def test_auth_helpers_read_claims_like_supabase(empty_db: str, project: Project) -> None:
    migrations.migrate(project, empty_db)
    with connect(empty_db) as conn, conn.transaction():
        conn.execute(
            "select set_config('request.jwt.claims', %s, true)",
            (
                '{"sub": "4a1d0e8c-9f14-4a4e-a1d2-5b1f6c7d8e9f", "role": "authenticated",'
                ' "email": "a@example.test"}',
            ),
        )
        row = conn.execute("select auth.uid()::text, auth.role(), auth.email(), auth.jwt()->>'sub'")
        assert row.fetchone() == (
            "4a1d0e8c-9f14-4a4e-a1d2-5b1f6c7d8e9f",
            "authenticated",
            "a@example.test",
            "4a1d0e8c-9f14-4a4e-a1d2-5b1f6c7d8e9f",
        )
    # After the transaction the setting reads back as '' and uid() is null, not an error.
    with connect(empty_db) as conn:
        conn.execute("select set_config('request.jwt.claims', '{}', true)")
        conn.rollback()
        assert conn.execute("select auth.uid()").fetchone()[0] is None


def test_unreachable_database_is_one_clear_error(project: Project) -> None:
    from backend.db.connect import DatabaseUnavailable

    with pytest.raises(DatabaseUnavailable, match="could not connect to postgresql://"):
        migrations.migrate(project, "postgresql://postgres@127.0.0.1:1/postgres")


def test_psycopg_is_version_3() -> None:
    assert psycopg.__version__.startswith("3.")
