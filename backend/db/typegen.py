"""TypeScript types for the Next.js app, written by Supabase's own generator.

`supabase gen types typescript` runs the `@supabase/postgres-meta` server in
generator mode; so does this module, without Docker: the package (pinned by
`supabase/types/package.json` and its lock file) is installed with `npm ci`
into the cache folder, a scratch database on the server in use is migrated
from nothing, the generator prints the `Database` type, and the scratch
database is dropped. The same migrations therefore always give the same file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path
from urllib.parse import quote

from psycopg import conninfo, sql

from backend.db import migrations
from backend.db.connect import connect, redact, with_database
from backend.db.project import Project

GENERATOR_PACKAGE = "@supabase/postgres-meta"
# What the Supabase CLI asks of the generator for `gen types typescript`.
GENERATOR_ENV = {
    "PG_META_GENERATE_TYPES": "typescript",
    "PG_META_GENERATE_TYPES_INCLUDED_SCHEMAS": "public",
    "PG_META_GENERATE_TYPES_DETECT_ONE_TO_ONE_RELATIONSHIPS": "true",
}
GENERATOR_TIMEOUT_SECONDS = 120
INSTALL_TIMEOUT_SECONDS = 600


class TypegenError(Exception):
    """The types could not be generated; the message is one line."""


def types_dir(project: Project) -> Path:
    return project.root / "supabase" / "types"


def types_file(project: Project) -> Path:
    return types_dir(project) / "database.ts"


def install_generator(project: Project) -> Path:
    """The generator's entry point, installed from the committed lock file when it changed."""
    manifest, lock = types_dir(project) / "package.json", types_dir(project) / "package-lock.json"
    if not (manifest.is_file() and lock.is_file()):
        raise TypegenError(f"no package.json and package-lock.json in {types_dir(project)}")
    target = project.cache_dir / "tools" / "postgres-meta"
    entry = target / "node_modules" / GENERATOR_PACKAGE / "dist" / "server" / "server.js"
    installed_lock = target / "package-lock.json"
    installed = entry.is_file() and installed_lock.is_file()
    if installed and installed_lock.read_bytes() == lock.read_bytes():
        return entry
    npm = shutil.which("npm")
    if npm is None:
        raise TypegenError("npm is not on PATH; the type generator needs Node.js 20 or later")
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(manifest, target / "package.json")
    shutil.copyfile(lock, installed_lock)
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--silent"],
        cwd=target,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0 or not entry.is_file():
        installed_lock.unlink(missing_ok=True)
        raise TypegenError(f"npm ci of {GENERATOR_PACKAGE} failed: {_last_line(result.stderr)}")
    return entry


def node_url(url: str) -> str:
    """The URL as postgres-meta reads it: a WHATWG URL whose `?host=` may name a socket folder."""
    params = conninfo.conninfo_to_dict(url)
    user = quote(str(params.get("user") or "postgres"), safe="")
    password = params.get("password")
    auth = f"{user}:{quote(str(password), safe='')}" if password else user
    host = str(params.get("host") or "localhost")
    port = str(params.get("port") or "5432")
    database = quote(str(params.get("dbname") or "postgres"), safe="")
    if host.startswith("/"):
        return f"postgresql://{auth}@localhost:{port}/{database}?host={quote(host, safe='/')}"
    sslmode = str(params.get("sslmode") or "disable")
    return f"postgresql://{auth}@{host}:{port}/{database}?sslmode={sslmode}"


def run_generator(entry: Path, url: str) -> str:
    node = shutil.which("node")
    if node is None:
        raise TypegenError("node is not on PATH; the type generator needs Node.js 20 or later")
    env = {**os.environ, **GENERATOR_ENV, "PG_META_DB_URL": node_url(url)}
    result = subprocess.run(
        [node, str(entry)],
        env=env,
        capture_output=True,
        text=True,
        timeout=GENERATOR_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0 or "export type Database" not in result.stdout:
        detail = _last_line(result.stderr or result.stdout)
        raise TypegenError(f"the type generator failed on {redact(url)}: {detail}")
    return result.stdout


def generate(project: Project, server_url: str) -> str:
    """The types of a database built from nothing by this project's migrations."""
    entry = install_generator(project)
    scratch = f"backend_types_{uuid.uuid4().hex[:12]}"
    admin = with_database(server_url, "postgres")
    with connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(scratch)))
    try:
        scratch_url = with_database(server_url, scratch)
        migrations.migrate(project, scratch_url)
        return run_generator(entry, scratch_url)
    finally:
        with connect(admin, autocommit=True) as conn:
            conn.execute(migrations.drop_database_sql(scratch))


def stale(project: Project, generated: str) -> bool:
    target = types_file(project)
    return not target.is_file() or target.read_text() != generated


def write(project: Project, generated: str) -> bool:
    """Write the types file; False when it already held exactly this."""
    if not stale(project, generated):
        return False
    types_file(project).write_text(generated)
    return True


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
