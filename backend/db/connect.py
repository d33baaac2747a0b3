"""Connections for administrative work (migrations, audit, reset), with one-line errors."""

from __future__ import annotations

import re
from typing import Any
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
