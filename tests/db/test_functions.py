"""functions/: one file per function, applied declaratively after the migrations.

What a run must do with them: create or replace each, drop what no file
defines any more, handle a changed signature by itself, keep what a table
needs, and change nothing but the function whose file changed.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from backend.db import bundle, migrations
from backend.db.connect import connect
from backend.db.project import Project, find_project
from backend.testing.database import TestDatabase
from tests.db.conftest import write

CREATE_FUNCTION = re.compile(
    r"^create or replace function (?P<schema>\w+)\.(?P<name>\w+)\s*\(", re.IGNORECASE | re.MULTILINE
)

NOTES = (
    "create table public.notes (id bigint primary key, body text not null,"
    " updated_at timestamptz);\n"
)


def functions_of(url: str) -> dict[str, str]:
    """Every function of public and private that no extension owns: signature -> definition."""
    with connect(url) as conn:
        conn.execute("set search_path = pg_catalog")
        rows = conn.execute(
            "select p.oid::regprocedure::text, pg_get_functiondef(p.oid)"
            " || coalesce(array_to_string(p.proacl, ','), '')"
            " || coalesce(obj_description(p.oid, 'pg_proc'), '')"
            " from pg_proc p join pg_namespace n on n.oid = p.pronamespace"
            " where n.nspname in ('public', 'private')"
            " and not exists (select from pg_depend d where d.classid = 'pg_proc'::regclass"
            " and d.objid = p.oid and d.deptype = 'e')"
        ).fetchall()
    return dict(rows)


def schema_snapshot(url: str) -> dict[str, Any]:
    """Functions, views, policies, triggers and constraints, by name (not by oid)."""
    with connect(url) as conn:
        conn.execute("set search_path = pg_catalog")
        views = conn.execute(
            "select c.oid::regclass::text, pg_get_viewdef(c.oid), c.relacl::text from pg_class c"
            " where c.relkind = 'v' and c.relnamespace = 'public'::regnamespace order by 1"
        ).fetchall()
        policies = conn.execute(
            "select tablename, policyname, roles::text, cmd, qual, with_check from pg_policies"
            " order by 1, 2"
        ).fetchall()
        triggers = conn.execute(
            "select pg_get_triggerdef(oid) from pg_trigger where not tgisinternal order by 1"
        ).fetchall()
        constraints = conn.execute(
            "select conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
            " from pg_constraint where connamespace = 'public'::regnamespace order by 1, 2"
        ).fetchall()
    return {
        "functions": functions_of(url),
        "views": views,
        "policies": policies,
        "triggers": triggers,
        "constraints": constraints,
    }


def copy_project(tmp_path: Path, *, functions: bool = True) -> Project:
    real = find_project()
    root = tmp_path / "project"
    for folder in ("migrations", "views", "policies", "supabase"):
        shutil.copytree(real.root / folder, root / folder)
    if functions:
        shutil.copytree(real.functions_dir, root / "functions")
    return Project(root)


# The project's own functions/.


def test_every_function_of_the_database_has_exactly_one_file(pg: TestDatabase) -> None:
    project = find_project()
    defined: dict[str, list[str]] = {}
    for path in sorted(project.functions_dir.glob("*.sql")):
        for match in CREATE_FUNCTION.finditer(path.read_text(encoding="utf-8")):
            qualified = f"{match['schema']}.{match['name']}"
            defined.setdefault(qualified, []).append(path.name)
    with connect(pg.url) as conn:
        in_database = {
            row[0]
            for row in conn.execute(
                "select n.nspname || '.' || p.proname from pg_proc p"
                " join pg_namespace n on n.oid = p.pronamespace"
                " where n.nspname in ('public', 'private')"
                " and not exists (select from pg_depend d where d.classid = 'pg_proc'::regclass"
                " and d.objid = p.oid and d.deptype = 'e')"
            )
        }

    assert set(defined) == in_database
    assert {name: files for name, files in defined.items() if len(files) != 1} == {}
    # The file is named after its function, so a reader finds it without searching.
    assert all(files == [f"{name.split('.')[1]}.sql"] for name, files in defined.items())


def test_every_function_file_carries_its_comment_and_its_grants() -> None:
    for path in sorted(find_project().functions_dir.glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        assert "comment on function" in text, path.name
        assert "from public, anon, authenticated, service_role;" in text, path.name


def test_editing_one_line_of_a_function_changes_that_function_only(
    tmp_path: Path, empty_db: str
) -> None:
    project = copy_project(tmp_path)
    migrations.migrate(project, empty_db)
    before = schema_snapshot(empty_db)
    path = project.functions_dir / "cancel_lesson.sql"
    text = path.read_text()
    assert "    return v_lesson;\n" in text
    path.write_text(text.replace("    return v_lesson;\n", "    return v_lesson;  -- as updated\n"))

    applied = migrations.migrate(project, empty_db).applied

    after = schema_snapshot(empty_db)
    assert "functions/cancel_lesson.sql" in applied
    changed = {k for k in before["functions"] if before["functions"][k] != after["functions"][k]}
    assert changed == {"public.cancel_lesson(uuid,text)"}
    assert set(after["functions"]) == set(before["functions"])
    assert {k: v for k, v in after.items() if k != "functions"} == {
        k: v for k, v in before.items() if k != "functions"
    }


def test_a_database_migrated_before_functions_existed_upgrades_to_the_same_schema(
    tmp_path: Path, backend_server: Any, empty_db: str
) -> None:
    """History alone defined the functions; adding functions/ keeps every one of them it does
    not replace (in its current text, which may have moved on since) and changes nothing else."""
    old = copy_project(tmp_path / "old", functions=False)
    migrations.migrate(old, empty_db)
    history_only = schema_snapshot(empty_db)

    applied = migrations.migrate(copy_project(tmp_path / "new"), empty_db).applied

    upgraded = schema_snapshot(empty_db)
    assert any(a.startswith("functions/") for a in applied)
    names_before = {signature.split("(")[0] for signature in history_only["functions"]}
    names_after = {signature.split("(")[0] for signature in upgraded["functions"]}
    # Functions created since functions/ exists are in no migration: only they are new.
    added = names_after - names_before
    assert all(not _in_any_migration(name) for name in added), added
    # A function whose signature functions/ changed lives on under its new one only.
    replaced = set(history_only["functions"]) - set(upgraded["functions"])
    assert {signature.split("(")[0] for signature in replaced} <= names_after
    # A function whose file changed since history differs from it: the fresh database
    # below holds every function to its file. Everything else is what history built.
    assert {k: v for k, v in upgraded.items() if k != "functions"} == {
        k: v for k, v in history_only.items() if k != "functions"
    }
    name = "backend_fn_fresh"
    backend_server.drop_database(name)
    fresh = backend_server.create_database(name)
    try:
        migrations.migrate(find_project(), fresh)
        assert schema_snapshot(fresh) == upgraded
    finally:
        backend_server.drop_database(name)


# The rules, on a scratch project.


def _scratch(project: Project) -> None:
    write(project, "migrations/20260101000000_notes.sql", NOTES)
    project.functions_dir.mkdir()
    write(
        project,
        "functions/note_length.sql",
        "create or replace function public.note_length(p_body text) returns integer\n"
        "language sql immutable as $$ select length(p_body) $$;\n"
        "comment on function public.note_length(text) is 'The length of a note.';\n",
    )
    write(
        project,
        "views/note_lengths.sql",
        "create or replace view public.note_lengths with (security_invoker = true)"
        " as select id, public.note_length(body) as length from public.notes;\n",
    )
    write(
        project,
        "policies/notes.sql",
        "alter table public.notes enable row level security;\n"
        "drop policy if exists notes_short on public.notes;\n"
        "create policy notes_short on public.notes for select"
        " using (public.note_length(body) < 100);\n",
    )


def test_a_changed_signature_and_return_type_need_nothing_by_hand(
    project: Project, empty_db: str
) -> None:
    _scratch(project)
    migrations.migrate(project, empty_db)
    write(
        project,
        "functions/note_length.sql",
        "create or replace function public.note_length(p_body text, p_extra integer default 0)"
        " returns bigint\nlanguage sql immutable as $$ select length(p_body) + p_extra $$;\n",
    )

    migrations.migrate(project, empty_db)

    assert list(functions_of(empty_db)) == ["public.note_length(text,integer)"]
    with connect(empty_db) as conn:
        # What depended on the old function was re-created by the same run.
        view_type = conn.execute(
            "select data_type from information_schema.columns"
            " where table_name = 'note_lengths' and column_name = 'length'"
        ).fetchone()
        policy = conn.execute(
            "select qual from pg_policies where policyname = 'notes_short'"
        ).fetchone()
    assert view_type == ("bigint",)
    assert policy is not None and "note_length(body)" in policy[0]


def test_a_function_removed_from_the_folder_is_dropped(project: Project, empty_db: str) -> None:
    _scratch(project)
    write(
        project,
        "functions/unused.sql",
        "create or replace function private.unused() returns integer\n"
        "language sql as $$ select 1 $$;\n",
    )
    write(project, "migrations/20260101000001_private.sql", "create schema private;\n")
    migrations.migrate(project, empty_db)
    assert "private.unused()" in functions_of(empty_db)

    (project.functions_dir / "unused.sql").unlink()
    migrations.migrate(project, empty_db)

    assert "private.unused()" not in functions_of(empty_db)
    assert "public.note_length(text)" in functions_of(empty_db)


def test_a_function_made_by_a_migration_and_in_no_file_is_dropped(
    project: Project, empty_db: str
) -> None:
    _scratch(project)
    write(
        project,
        "migrations/20260101000001_backfill.sql",
        "create function public.backfill_helper() returns integer language sql as $$ select 1 $$;\n"
        "select public.backfill_helper();\n",
    )

    migrations.migrate(project, empty_db)

    assert list(functions_of(empty_db)) == ["public.note_length(text)"]


def test_a_trigger_function_is_replaced_in_place_and_its_trigger_kept(
    project: Project, empty_db: str
) -> None:
    _scratch(project)
    trigger_function = (
        "create or replace function public.touch() returns trigger language plpgsql as $$\n"
        "begin new.updated_at := {value}; return new; end $$;\n"
    )
    # The migration that creates the trigger creates its function as it is then.
    write(
        project,
        "migrations/20260101000001_touch.sql",
        trigger_function.format(value="now()")
        + "create trigger notes_touch before insert or update on public.notes"
        " for each row execute function public.touch();\n",
    )
    write(project, "functions/touch.sql", trigger_function.format(value="'2030-01-01'"))

    migrations.migrate(project, empty_db)

    with connect(empty_db) as conn:
        conn.execute("insert into public.notes (id, body) values (1, 'x')")
        stamped = conn.execute("select updated_at::date::text from public.notes").fetchone()
    assert stamped == ("2030-01-01",)


def test_removing_the_file_of_a_function_a_table_needs_fails_and_changes_nothing(
    project: Project, empty_db: str
) -> None:
    _scratch(project)
    write(
        project,
        "migrations/20260101000001_check.sql",
        "create function public.is_short(p text) returns boolean"
        " language sql immutable as $$ select length(p) < 1000 $$;\n"
        "alter table public.notes add constraint notes_body_short check (public.is_short(body));\n",
    )
    write(
        project,
        "functions/is_short.sql",
        "create or replace function public.is_short(p text) returns boolean\n"
        "language sql immutable as $$ select length(p) < 1000 $$;\n",
    )
    migrations.migrate(project, empty_db)
    before = schema_snapshot(empty_db)
    (project.functions_dir / "is_short.sql").unlink()
    note = project.functions_dir / "note_length.sql"
    note.write_text(note.read_text().replace("The length", "How long"))

    with pytest.raises(migrations.MigrationError) as failure:
        migrations.migrate(project, empty_db)

    message = str(failure.value)
    assert "functions/ no longer defines is_short(text)" in message
    assert "notes_body_short" in message
    assert schema_snapshot(empty_db) == before


def test_a_broken_function_file_is_named_and_nothing_stays(project: Project, empty_db: str) -> None:
    _scratch(project)
    migrations.migrate(project, empty_db)
    before = schema_snapshot(empty_db)
    write(
        project,
        "functions/note_length.sql",
        "create or replace function public.note_length(p_body text) returns integer\n"
        "language sql immutable as $$ select length(p_body) from no_such_table $$;\n",
    )

    with pytest.raises(migrations.MigrationError) as failure:
        migrations.migrate(project, empty_db)

    assert str(failure.value).startswith("functions/note_length.sql:")
    assert schema_snapshot(empty_db) == before


def test_bundle_carries_the_functions_and_a_push_builds_the_same_schema(
    project: Project, empty_db: str, backend_server: Any
) -> None:
    _scratch(project)
    bundle.write_bundle(project)
    generated = next(project.bundle_dir.glob("*_declarative_schema.sql")).read_text()
    assert "-- functions/note_length.sql" in generated
    migrations.migrate(project, empty_db)

    name = "backend_fn_pushed"
    backend_server.drop_database(name)
    pushed = backend_server.create_database(name)
    try:
        with connect(pushed, autocommit=True) as conn:
            # What `supabase db push` does: each bundle file in a transaction, then its row.
            migrations.execute_script(conn, migrations.TRACKING_DDL, "tracking tables")
            for path in sorted(project.bundle_dir.glob("*.sql")):
                with conn.transaction():
                    statements = migrations.execute_script(conn, path.read_text(), path.name)
                    version, file_name = path.stem.split("_", 1)
                    conn.execute(
                        "insert into supabase_migrations.schema_migrations"
                        " (version, name, statements) values (%s, %s, %s)",
                        (version, file_name, statements),
                    )
        assert schema_snapshot(pushed) == schema_snapshot(empty_db)
        assert migrations.migrate(project, pushed).applied == []
    finally:
        backend_server.drop_database(name)


def _in_any_migration(qualified_name: str) -> bool:
    pattern = re.compile(rf"create (or replace )?function {re.escape(qualified_name)}\(")
    return any(
        pattern.search(path.read_text(encoding="utf-8"))
        for path in find_project().migrations_dir.glob("*.sql")
    )
