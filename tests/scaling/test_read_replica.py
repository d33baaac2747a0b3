"""DATABASE_READ_URL: reads go to the replica, writes to the primary, and a request that
wrote reads its own write from the primary. The replica here is a second database with the
same schema; the test plants a row only it has, so each answer shows where it came from."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from psycopg.types.json import Jsonb

from backend.app import Backend
from backend.config import load_settings
from backend.db.connect import connect
from backend.gateway.base import Caller


@pytest.fixture
def replica_url(backend_server, migrated_template, pg) -> Iterator[str]:
    name = f"backend_replica_{uuid.uuid4().hex[:10]}"
    url = backend_server.create_database(name, template=migrated_template)
    yield url
    backend_server.drop_database(name)


@pytest.fixture
def caller(pg, replica_url) -> Caller:
    """A coach on both databases (as replication would have it), and a client only the
    replica has."""
    coach = pg.sign_up()
    with connect(replica_url, autocommit=True) as replica:
        replica.execute(
            "insert into auth.users (id, email, aud, role, raw_user_meta_data)"
            " values (%s, %s, 'authenticated', 'authenticated', %s)",
            (coach.id, coach.email, Jsonb({"full_name": "Coach"})),
        )
        replica.execute(
            "insert into public.clients (coach_id, first_name) values (%s, 'OnlyOnReplica')",
            (coach.id,),
        )
    return Caller.user(coach.id, email=coach.email)


@pytest.fixture
def backend(pg, replica_url) -> Iterator[Backend]:
    built = Backend.from_settings(load_settings(database_url=pg.url, database_read_url=replica_url))
    yield built
    built.close()


def _names(services) -> set[str]:
    return {c.first_name for c in services.clients.list().items}


def test_a_read_goes_to_the_replica(backend, caller):
    assert _names(backend.services_for(caller)) == {"OnlyOnReplica"}


def test_a_write_goes_to_the_primary(pg, backend, caller):
    backend.services_for(caller).clients.create(first_name="Written")

    rows = pg.admin.execute("select first_name from public.clients").fetchall()
    assert rows == [("Written",)]


def test_a_request_reads_its_own_write_from_the_primary(backend, caller):
    request = backend.services_for(caller)  # one request: one set of services
    request.clients.create(first_name="Written")

    assert _names(request) == {"Written"}


def test_the_next_request_reads_from_the_replica_again(backend, caller):
    backend.services_for(caller).clients.create(first_name="Written")

    assert _names(backend.services_for(caller)) == {"OnlyOnReplica"}


def test_without_a_read_url_everything_goes_to_the_primary(pg, caller):
    backend = Backend.from_settings(load_settings(database_url=pg.url))
    try:
        assert _names(backend.services_for(caller)) == set()
    finally:
        backend.close()
