"""audit_log ids: time-ordered UUIDs made by the database, revealing nothing of
other coaches' activity; the log stays append-only."""

from __future__ import annotations

import uuid

from backend.testing import TestDatabase
from tests.sql.conftest import make_client, raises_sql, scalar


def _own_ids(pg: TestDatabase, coach_id: uuid.UUID) -> list[uuid.UUID]:
    with pg.as_service() as c:
        rows = c.execute(
            "select id from audit_log where coach_id = %s order by occurred_at, id", (coach_id,)
        ).fetchall()
    return [r[0] for r in rows]


def test_audit_ids_are_version_7_uuids_in_time_order(pg: TestDatabase) -> None:
    coach = pg.sign_up()
    for name in ("Ann", "Bob", "Cid"):
        with pg.as_coach(coach) as c:
            c.execute("insert into clients (first_name) values (%s)", (name,))
    ids = _own_ids(pg, coach.id)
    assert len(ids) == 4  # the coach's row and three clients
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    assert ids == sorted(ids, key=lambda i: i.int)


def test_audit_id_carries_its_instant_and_nothing_else(pg: TestDatabase) -> None:
    """The first 48 bits are the entry's milliseconds; the gap between a coach's
    ids does not grow with other coaches' writes (there is no shared counter)."""
    a, b = pg.sign_up(), pg.sign_up()
    make_client(pg, a)
    for _ in range(20):
        make_client(pg, b)
    make_client(pg, a)
    first, last = _own_ids(pg, a.id)[-2:]
    occurred = scalar(pg, "select floor(extract(epoch from clock_timestamp()) * 1000)::bigint")
    assert abs((last.int >> 80) - occurred) < 60_000
    assert (last.int & ((1 << 62) - 1)) != (first.int & ((1 << 62) - 1))  # random tails
    identity = scalar(
        pg,
        "select count(*) from pg_attribute where attrelid = 'public.audit_log'::regclass"
        " and (attidentity <> '' or atthasdef and attname = 'id'"
        " and pg_get_expr((select adbin from pg_attrdef where adrelid = attrelid"
        " and adnum = attnum), attrelid) like '%%nextval%%')",
    )
    assert identity == 0


def test_audit_log_stays_append_only_for_its_owner(pg: TestDatabase) -> None:
    coach = pg.sign_up()
    entry = _own_ids(pg, coach.id)[0]
    with raises_sql("42501", "audit_log_append_only"):
        pg.admin.execute("update audit_log set id = %s where id = %s", (uuid.uuid4(), entry))
    with raises_sql("42501", "audit_log_append_only"):
        pg.admin.execute("delete from audit_log where id = %s", (entry,))
    assert _own_ids(pg, coach.id)[0] == entry
