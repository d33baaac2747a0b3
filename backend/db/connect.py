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
    return conninfo.make_conninfo(url, dbname=database)


def connect(url: str, **kwargs: Any) -> psycopg.Connection[Any]:
    try:
        conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise DatabaseUnavailable(f"bad database URL {redact(url)}: {_first_line(exc)}") from None
    try:
        return psycopg.connect(url, connect_timeout=10, **kwargs)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(
            f"could not connect to {redact(url)}: {_first_line(exc)}"
        ) from None


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__
