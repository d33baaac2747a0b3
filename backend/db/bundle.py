"""`supabase/migrations/` for the Supabase CLI, so that `supabase db push` deploys the same schema.

The bundle holds the bootstrap (version 0, a no-op on Supabase), every
migration verbatim under its own version, and the declarative views and
policies concatenated into a generated migration. A new generated file is
added only when the declarative content changed or a newer migration exists,
so the bundle is itself an append-only history, as the CLI wants.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from backend.db.migrations import (
    BOOTSTRAP_NAME,
    BOOTSTRAP_VERSION,
    DECLARATIVE_NAME,
    MIGRATION_NAME,
    bundled_declaratives,
    declarative_text,
    load_bootstrap,
    load_migrations,
)
from backend.db.project import Project


@dataclass(frozen=True)
class BundleFile:
    name: str
    text: str


def expected_files(project: Project) -> tuple[list[BundleFile], BundleFile | None]:
    """The files the bundle must hold, and the declarative file to add if any."""
    bootstrap = load_bootstrap(project)
    migrations = load_migrations(project)
    wanted = [BundleFile(f"{BOOTSTRAP_VERSION}_{BOOTSTRAP_NAME}.sql", bootstrap.text)]
    wanted += [BundleFile(m.path.name, m.text) for m in migrations]

    # The same rule the engine uses to call the bundle's views and policies current.
    if bundled_declaratives(project, migrations):
        return wanted, None
    latest_migration = max((int(m.version) for m in migrations), default=0)
    existing = _existing(project.bundle_dir)
    newest = max([latest_migration, *(_version(n) for n in existing)], default=0)
    version = str(newest + 1).zfill(14)
    return wanted, BundleFile(f"{version}_{DECLARATIVE_NAME}.sql", declarative_text(project))


def stale_files(project: Project) -> list[str]:
    """Names that are missing or differ; empty when the bundle is up to date."""
    wanted, new_declarative = expected_files(project)
    existing = _existing(project.bundle_dir)
    stale = [f.name for f in wanted if existing.get(f.name) != f.text]
    if new_declarative is not None:
        stale.append(f"(a new {DECLARATIVE_NAME} migration)")
    return stale


def write_bundle(project: Project) -> list[str]:
    """Bring `supabase/migrations/` up to date; returns the names written."""
    wanted, new_declarative = expected_files(project)
    folder = project.bundle_dir
    folder.mkdir(parents=True, exist_ok=True)
    existing = _existing(folder)
    written = []
    for f in [*wanted, *([new_declarative] if new_declarative else [])]:
        if existing.get(f.name) != f.text:
            (folder / f.name).write_text(f.text, encoding="utf-8")
            written.append(f.name)
    return written


def _existing(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        return {}
    return {
        p.name: p.read_text(encoding="utf-8")
        for p in folder.glob("*.sql")
        if MIGRATION_NAME.match(p.name)
    }


def _version(name: str) -> int:
    match = MIGRATION_NAME.match(name)
    return int(match["version"]) if match else 0
