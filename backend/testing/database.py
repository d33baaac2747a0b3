"""Databases for tests: one migrated template per session, a fresh copy per test.

`create database … template …` of a migrated database takes a fraction of a
second, so every test starts from the same clean, fully migrated schema.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from backend.db import migrations
from backend.db.connect import connect, with_database
from backend.db.embedded import start_embedded
from backend.db.impersonation import Principal, impersonate
from backend.db.project import Project


class IsolationGuardError(AssertionError):
    """A tenant-isolation check would run as a role that skips row level security."""


@dataclass(frozen=True)
class Coach:
    """A signed-up user; its `coaches` row is made by the sign-up trigger."""

    id: uuid.UUID
    email: str

    @property
    def principal(self) -> Principal:
        return Principal.user(self.id, email=self.email)


@dataclass
class DatabaseServer:
    """A PostgreSQL server the tests may create databases on."""

    admin_url: str
    description: str

    def url(self, database: str) -> str:
        return with_database(self.admin_url, database)

    def create_database(self, name: str, template: str | None = None) -> str:
        with connect(self.admin_url, autocommit=True) as conn:
            query = sql.SQL("create database {}").format(sql.Identifier(name))
            if template:
                query = sql.SQL("create database {} template {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            conn.execute(query)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with connect(self.admin_url, autocommit=True) as conn:
            conn.execute(migrations.drop_database_sql(name))


def server_for_tests(project: Project) -> DatabaseServer:
    """DATABASE_URL when set, a container when asked for, else the embedded PostgreSQL."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return DatabaseServer(url, f"DATABASE_URL ({url.split('@')[-1]})")
    if os.environ.get("BACKEND_TEST_CONTAINER"):
        return _container_server(os.environ["BACKEND_TEST_CONTAINER"])
    server = start_embedded(project, name="tests", cleanup="stop")
    return DatabaseServer(server.url("postgres"), f"embedded PostgreSQL ({server.data_dir})")


def _container_server(image: str) -> DatabaseServer:
    if shutil.which("docker") is None:
        raise RuntimeError("BACKEND_TEST_CONTAINER is set but Docker is not installed")
    from testcontainers.postgres import PostgresContainer

    image = image if ":" in image else "supabase/postgres:15.8.1.085"
    container = PostgresContainer(
        image, username="postgres", password="postgres", dbname="postgres"
    )
    container.start()
    url = container.get_connection_url().replace("postgresql+psycopg2://", "postgresql://")
    return DatabaseServer(url, f"container {image}")


class TestDatabase:
    """One fresh, migrated database and the ways a test acts on it."""

    __test__ = False  # not a test class, despite the name

    def __init__(self, url: str) -> None:
        self.url = url
        self._admin: psycopg.Connection[Any] | None = None
        self._counter = 0

    @property
    def admin(self) -> psycopg.Connection[Any]:
        """A superuser connection in autocommit: for set-up and for reading the truth."""
        if self._admin is None or self._admin.closed:
            self._admin = connect(self.url, autocommit=True)
        return self._admin

    def close(self) -> None:
        if self._admin is not None:
            self._admin.close()

    def sign_up(self, email: str | None = None, full_name: str | None = None) -> Coach:
        """Create a user as Supabase Auth does: one row in `auth.users`."""
        self._counter += 1
        user_id = uuid.uuid4()
        email = email or f"coach{self._counter}-{user_id.hex[:6]}@example.test"
        meta = Jsonb({"full_name": full_name or f"Coach {self._counter}"})
        self.admin.execute(
            "insert into auth.users (id, email, aud, role, raw_user_meta_data)"
            " values (%s, %s, 'authenticated', 'authenticated', %s)",
            (user_id, email, meta),
        )
        return Coach(user_id, email)

    @contextmanager
    def acting_as(
        self, principal: Principal, *, guard: bool = True, headers: dict[str, str] | None = None
    ) -> Iterator[psycopg.Connection[Any]]:
        """One transaction as `principal`; committed when the block ends, rolled back on error."""
        with connect(self.url) as conn, conn.transaction():
            impersonate(conn, principal, headers=headers)
            if guard:
                _refuse_rls_bypass(conn)
            yield conn

    def as_coach(self, coach: Coach, **kw: Any) -> Any:
        return self.acting_as(coach.principal, **kw)

    def as_anon(self, **kw: Any) -> Any:
        return self.acting_as(Principal.anon(), **kw)

    def as_service(self, **kw: Any) -> Any:
        return self.acting_as(Principal.service(), guard=False, **kw)


def _refuse_rls_bypass(conn: psycopg.Connection[Any]) -> None:
    row = conn.execute(
        "select current_user, rolsuper, rolbypassrls from pg_catalog.pg_roles"
        " where rolname = current_user"
    ).fetchone()
    assert row is not None
    if row[1] or row[2]:
        raise IsolationGuardError(
            f"isolation can not be proven as {row[0]}: it is a superuser or bypasses RLS"
        )
