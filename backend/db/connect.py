"""Connections for administrative work (migrations, audit, reset), with one-line errors."""

from __future__ import annotations

import re
from typing import Any, Literal
from urllib.parse import urlsplit

import psycopg
from psycopg import conninfo


class DatabaseUnavailable(Exception):
    """The database can not be reached or the URL is unusable; the message is one line."""


def redact(url: str) -> str:
    """The URL without its password, fit for messages and logs."""
    return re.sub(r"(://[^:/@]*:)[^@]+@", r"\1***@", url)


def is_local(url: str) -> bool:
    """True for a database on this machine: loopback host or a Unix socket."""
    params = conninfo.conninfo_to_dict(url)
    host = str(params.get("host") or "")
    hosts = [h for h in host.split(",") if h] or [""]
    return all(h in ("", "localhost", "127.0.0.1", "::1") or h.startswith("/") for h in hosts)


def database_name(url: str) -> str:
    params = conninfo.conninfo_to_dict(url)
    return str(params.get("dbname") or urlsplit(url).path.lstrip("/") or "postgres")


def with_database(url: str, database: str) -> str:
    """The same server, another database."""
    check_url(url)
    return conninfo.make_conninfo(url, dbname=database)


SCHEMES = ("postgres", "postgresql")


def check_url(url: str) -> None:
    """A PostgreSQL URL or libpq key=value string, else one line saying what is wrong."""
    scheme = urlsplit(url).scheme if "://" in url else ""
    if scheme and scheme not in SCHEMES:
        raise DatabaseUnavailable(
            f"bad database URL {redact(url)}: it must start with postgres:// or postgresql://"
        )
    try:
        conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise DatabaseUnavailable(f"bad database URL {redact(url)}: {driver_reason(exc)}") from None


def connect(url: str, **kwargs: Any) -> psycopg.Connection[Any]:
    check_url(url)
    try:
        return psycopg.connect(url, connect_timeout=10, **kwargs)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(
            f"could not connect to {redact(url)}: {driver_reason(exc)}"
        ) from None


def driver_reason(exc: BaseException) -> str:
    """libpq's reason on one line: "Connection refused", "password authentication failed…".

    libpq says `connection to server at "h", port p failed: <reason>` and may add
    a tab-indented advice line; the reason comes first, the advice after it.
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    reason = re.sub(r"^(FATAL|ERROR):\s+", "", lines[0].rsplit(" failed: ", 1)[-1])
    advice = " ".join(lines[1:])
    return f"{reason} ({advice[:1].lower()}{advice[1:]})" if advice else reason


PoolMode = Literal["direct", "session", "transaction"]

# Supabase's transaction pooler (Supavisor) listens on 6543; its session pooler and
# the direct connection on 5432.
TRANSACTION_POOLER_PORT = 6543


def pool_mode_of(url: str, configured: str = "auto") -> PoolMode:
    """How `url` reaches PostgreSQL: DATABASE_POOL_MODE when set, else port 6543 is a
    transaction pooler and anything else a direct (or session-pooled) connection."""
    if configured in ("direct", "session", "transaction"):
        return configured  # type: ignore[return-value]
    port = str(conninfo.conninfo_to_dict(url).get("port") or "")
    return "transaction" if port == str(TRANSACTION_POOLER_PORT) else "direct"


def shares_server_connections(url: str) -> bool:
    """True when two open client connections are served by one server process in turn.

    Never so on a direct connection or behind a session pooler, where each client
    keeps its own server connection; behind a transaction pooler, an idle client
    holds none, and the next statement of another client takes the one just freed.
    """
    with connect(url, autocommit=True) as first, connect(url, autocommit=True) as second:
        mine = first.execute("select pg_backend_pid()").fetchone()
        theirs = second.execute("select pg_backend_pid()").fetchone()
    return mine is not None and theirs is not None and mine[0] == theirs[0]


class NeedsSession(DatabaseUnavailable):
    """A command that keeps session state was pointed at a transaction pooler."""


def require_session(url: str, command: str, configured: str = "auto") -> None:
    """Refuse, in one line, to run `command` through a transaction pooler.

    Migrations hold a session-level advisory lock and the audit switches roles
    at session level: through a pooler that hands each transaction any server
    connection, the lock would not serialise two runs and a role would outlive
    the audit's own statements.
    """
    check_url(url)
    if pool_mode_of(url, configured) == "transaction" or shares_server_connections(url):
        raise NeedsSession(
            f"{command} needs a session of its own, and {redact(url)} is a transaction pooler:"
            " use the session pooler (port 5432) or the direct connection"
        )
