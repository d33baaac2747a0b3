"""Which tables the escalation check treats as deciding privileges.

A role-like column alone does not make a table a privilege table: an
append-only log that records who acted (`actor_role`) decides nothing, and
comparing its every row before and after each call made the audit's time grow
with the log (23.5 s on a seeded 1,000-coach database, 2.6 s without). The
same column counts as soon as an API role may write the table, or a policy of
another table, a function or a view reads it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from backend.audit.prover.escalation import Escalation
from backend.db.connect import connect

_LOG = """
create table public.activity_log (
    id bigint generated always as identity primary key,
    actor_role text not null,
    note text
);
alter table public.activity_log enable row level security;
grant select on public.activity_log to authenticated;
create table public.notes (id uuid primary key, body text);
alter table public.notes enable row level security;
grant select on public.notes to authenticated;
"""


@pytest.fixture
def db(backend_server) -> Iterator[str]:
    name = f"audit_privtables_{uuid.uuid4().hex[:8]}"
    url = backend_server.create_database(name)
    with connect(url, autocommit=True) as conn:
        for role in ("anon", "authenticated"):
            conn.execute(
                f"do $$ begin create role {role} nologin;"
                " exception when duplicate_object then null; end $$"
            )
        conn.execute(_LOG)
    yield url
    backend_server.drop_database(name)


def privileged(url: str) -> set[str]:
    with connect(url, autocommit=True) as conn:
        found = Escalation(conn, ("public",)).privileged
    return {table for table in found if not table.startswith("auth.")}


def test_a_log_of_who_acted_is_not_a_privilege_table(db):
    assert privileged(db) == set()


@pytest.mark.parametrize(
    "reader",
    [
        "grant update on public.activity_log to authenticated",
        "grant insert on public.activity_log to anon",
        "create policy by_role on public.notes for select to authenticated using"
        " (exists (select from public.activity_log where actor_role = 'admin'))",
        "create function public.is_admin() returns boolean language sql stable"
        " as $$ select exists (select from public.activity_log where actor_role = 'admin') $$",
        "create view public.admins as select * from public.activity_log where actor_role = 'admin'",
    ],
    ids=["update-grant", "insert-grant", "policy", "function", "view"],
)
def test_a_role_column_that_is_written_or_read_makes_one(db, reader):
    with connect(db, autocommit=True) as conn:
        conn.execute(reader)  # type: ignore[arg-type]
    assert privileged(db) == {"public.activity_log"}
