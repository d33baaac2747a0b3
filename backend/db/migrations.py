"""The migration engine.

Applies, in order: the Supabase bootstrap (where objects are missing), every
file of `migrations/` (each once, each in its own transaction), then the
declarative `views/` and `policies/` files (re-applied together when any of
them changed or a migration ran). Applied migrations are recorded in the
Supabase CLI's own table, `supabase_migrations.schema_migrations`, with a
checksum, so that the Supabase CLI and this engine agree on what is applied.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import psycopg
from psycopg import sql

from backend.db.connect import connect
from backend.db.project import Project
from backend.db.sqlsplit import split_sql

MIGRATION_NAME = re.compile(r"^(?P<version>\d+)_(?P<name>[A-Za-z0-9_\-]+)\.sql$")
# One number for every process that migrates: two runs at once take turns.
ADVISORY_LOCK_KEY = 7_301_202_611

TRACKING_DDL = """
create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (
    version text not null primary key,
    statements text[],
    name text
);
alter table supabase_migrations.schema_migrations add column if not exists checksum text;
create table if not exists supabase_migrations.declarative_files (
    path text primary key,
    checksum text not null,
    applied_at timestamptz not null default now()
);
"""

Kind = Literal["bootstrap", "migration", "view", "policy"]
State = Literal["applied", "pending", "changed", "missing file", "applied elsewhere"]


class MigrationError(Exception):
    """A migration could not be applied or is refused; the message names the file."""


class ChangedMigrationError(MigrationError):
    """An applied migration's file has been edited since it was applied."""


@dataclass(frozen=True)
class SqlFile:
    kind: Kind
    path: Path
    relative: str
    text: str
    version: str = ""
    name: str = ""

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    kind: Kind
    file: str
    state: State
    version: str = ""


@dataclass
class Plan:
    entries: list[Entry] = field(default_factory=list)
    pending: list[SqlFile] = field(default_factory=list)
    changed: list[SqlFile] = field(default_factory=list)
    declarative: list[SqlFile] = field(default_factory=list)
    bootstrap: SqlFile | None = None

    @property
    def up_to_date(self) -> bool:
        return not (self.pending or self.changed or self.declarative or self.bootstrap)


def _read(kind: Kind, path: Path, root: Path) -> SqlFile:
    relative = path.relative_to(root).as_posix()
    text = path.read_text(encoding="utf-8")
    if kind != "migration":
        return SqlFile(kind, path, relative, text)
    match = MIGRATION_NAME.match(path.name)
    if not match:
        raise MigrationError(
            f"{relative}: migration files must be named <digits>_<name>.sql"
            " (the Supabase CLI's convention)"
        )
    return SqlFile(kind, path, relative, text, match["version"], match["name"])


def load_migrations(project: Project) -> list[SqlFile]:
    folder = project.migrations_dir
    if not folder.is_dir():
        raise MigrationError(f"no migrations folder at {folder}")
    files = [_read("migration", p, project.root) for p in sorted(folder.glob("*.sql"))]
    seen: dict[str, str] = {}
    for f in files:
        if f.version in seen:
            raise MigrationError(f"{f.relative} and {seen[f.version]} share version {f.version}")
        seen[f.version] = f.relative
    return sorted(files, key=lambda f: f.version)


def load_declarative(project: Project) -> list[SqlFile]:
    """Views first, then policies, each folder in file-name order."""
    out: list[SqlFile] = []
    kinds: tuple[tuple[Kind, Path], ...] = (
        ("view", project.views_dir),
        ("policy", project.policies_dir),
    )
    for kind, folder in kinds:
        if folder.is_dir():
            out.extend(_read(kind, p, project.root) for p in sorted(folder.glob("*.sql")))
    return out


def load_bootstrap(project: Project) -> SqlFile:
    path = project.bootstrap_file
    if not path.is_file():
        raise MigrationError(f"no Supabase bootstrap at {path}")
    return _read("bootstrap", path, project.root)


def _applied(
    conn: psycopg.Connection[Any],
) -> tuple[dict[str, tuple[str, str | None]], dict[str, str]]:
    """What the database records: {version: (name, checksum)} and {path: checksum}."""
    exists = conn.execute(
        "select to_regclass('supabase_migrations.schema_migrations') is not null,"
        " to_regclass('supabase_migrations.declarative_files') is not null"
    ).fetchone()
    assert exists is not None
    versions: dict[str, tuple[str, str | None]] = {}
    declared: dict[str, str] = {}
    if exists[0]:
        has_checksum = conn.execute(
            "select exists (select from information_schema.columns"
            " where table_schema = 'supabase_migrations' and table_name = 'schema_migrations'"
            " and column_name = 'checksum')"
        ).fetchone()
        checksum_col = "checksum" if has_checksum and has_checksum[0] else "null::text"
        for version, name, checksum in conn.execute(
            f"select version, coalesce(name, ''), {checksum_col}"
            " from supabase_migrations.schema_migrations"
        ):
            versions[version] = (name, checksum)
    if exists[1]:
        for path, checksum in conn.execute(
            "select path, checksum from supabase_migrations.declarative_files"
        ):
            declared[path] = checksum
    return versions, declared


def make_plan(project: Project, conn: psycopg.Connection[Any]) -> Plan:
    migrations = load_migrations(project)
    declarative = load_declarative(project)
    bootstrap = load_bootstrap(project)
    versions, declared = _applied(conn)
    plan = Plan()

    if declared.get(bootstrap.relative) != bootstrap.checksum:
        plan.bootstrap = bootstrap
        plan.entries.append(Entry("bootstrap", bootstrap.relative, "pending"))
    else:
        plan.entries.append(Entry("bootstrap", bootstrap.relative, "applied"))

    local_versions = {m.version for m in migrations}
    for m in migrations:
        recorded = versions.get(m.version)
        if recorded is None:
            plan.pending.append(m)
            plan.entries.append(Entry("migration", m.relative, "pending", m.version))
        elif recorded[1] is not None and recorded[1] != m.checksum:
            plan.changed.append(m)
            plan.entries.append(Entry("migration", m.relative, "changed", m.version))
        else:
            plan.entries.append(Entry("migration", m.relative, "applied", m.version))
    for version, (name, _) in sorted(versions.items()):
        if version not in local_versions:
            # Recorded by another tool (the bundle pushed by the Supabase CLI, a
            # hand-made migration): not ours to judge, but worth showing.
            plan.entries.append(
                Entry("migration", f"{version}_{name}", "applied elsewhere", version)
            )

    stale = bool(plan.pending) or any(declared.get(d.relative) != d.checksum for d in declarative)
    for d in declarative:
        state: State = "applied" if declared.get(d.relative) == d.checksum else "pending"
        if d.relative in declared and state == "pending":
            state = "changed"
        plan.entries.append(Entry(d.kind, d.relative, state))
    if stale:
        plan.declarative = declarative
    return plan


@dataclass(frozen=True)
class MigrateResult:
    applied: list[str]
    plan: Plan


Progress = Callable[[str], None]


def migrate(
    project: Project, url: str, *, dry_run: bool = False, progress: Progress | None = None
) -> MigrateResult:
    """Apply what is pending; see the module's docstring for the order."""
    say = progress or (lambda _msg: None)
    with connect(url, autocommit=True) as conn:
        if dry_run:
            plan = make_plan(project, conn)
            _refuse_changed(plan)
            return MigrateResult([], plan)
        # Session-level advisory lock: a second `migrate` waits here, then
        # re-reads the state and finds nothing left to do.
        conn.execute("select pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        try:
            execute_script(conn, TRACKING_DDL, "supabase_migrations tracking tables")
            plan = make_plan(project, conn)
            _refuse_changed(plan)
            applied: list[str] = []
            if plan.bootstrap:
                say(f"applying {plan.bootstrap.relative}")
                _apply(conn, [plan.bootstrap], record=_record_declarative)
                applied.append(plan.bootstrap.relative)
            for m in plan.pending:
                say(f"applying {m.relative}")
                _apply(conn, [m], record=_record_migration)
                applied.append(m.relative)
            if plan.declarative:
                say(f"applying {len(plan.declarative)} view and policy files")
                _apply(conn, plan.declarative, record=_record_declarative)
                applied.extend(d.relative for d in plan.declarative)
            return MigrateResult(applied, plan)
        finally:
            conn.execute("select pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))


def status(project: Project, url: str) -> Plan:
    with connect(url, autocommit=True) as conn:
        return make_plan(project, conn)


def _refuse_changed(plan: Plan) -> None:
    if plan.changed:
        names = ", ".join(m.relative for m in plan.changed)
        raise ChangedMigrationError(
            f"applied migration changed since it was applied: {names}"
            " (write a new migration instead of editing an applied one)"
        )


Recorder = Callable[[psycopg.Connection[Any], SqlFile, list[str]], None]


def _apply(conn: psycopg.Connection[Any], files: Iterable[SqlFile], *, record: Recorder) -> None:
    """Run the files in one transaction and record them; on failure nothing stays."""
    with conn.transaction():
        # A migration that waits on a lock gives up rather than stall the
        # application behind it; one that runs away is stopped.
        conn.execute("set local lock_timeout = '10s'")
        conn.execute("set local statement_timeout = '10min'")
        for f in files:
            statements = execute_script(conn, f.text, f.relative)
            record(conn, f, statements)


def execute_script(conn: psycopg.Connection[Any], text: str, label: str) -> list[str]:
    statements = split_sql(text)
    for st in statements:
        try:
            conn.execute(st.sql.encode(), prepare=False)
        except psycopg.Error as exc:
            raise MigrationError(_describe_failure(label, st.sql, st.line, exc)) from None
    return [st.sql for st in statements]


def _describe_failure(label: str, statement: str, first_line: int, exc: psycopg.Error) -> str:
    diag = exc.diag
    line = first_line
    position = diag.statement_position
    if position:
        line += statement[: int(position) - 1].count("\n")
    message = diag.message_primary or str(exc).splitlines()[0]
    where = f" ({diag.sqlstate})" if diag.sqlstate else ""
    detail = f"; {diag.message_detail}" if diag.message_detail else ""
    return f"{label}:{line}: {message}{where}{detail}"


def _record_migration(conn: psycopg.Connection[Any], f: SqlFile, statements: list[str]) -> None:
    conn.execute(
        "insert into supabase_migrations.schema_migrations (version, name, statements, checksum)"
        " values (%s, %s, %s, %s)",
        (f.version, f.name, statements, f.checksum),
    )


def _record_declarative(conn: psycopg.Connection[Any], f: SqlFile, _: list[str]) -> None:
    conn.execute(
        "insert into supabase_migrations.declarative_files (path, checksum) values (%s, %s)"
        " on conflict (path) do update set checksum = excluded.checksum, applied_at = now()",
        (f.relative, f.checksum),
    )


def drop_database_objects_sql(database: str) -> sql.Composed:
    return sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(database))
