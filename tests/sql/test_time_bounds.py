"""Bounded times: every time a coach writes lies in [1900-01-01, 2200-01-01) UTC, on
every path, so that no reader ever meets a time it can not read (docs/rules.md)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from backend.testing import Coach, TestDatabase
from tests.sql.conftest import NOW, book, hours, make_client, raises_sql, rpc_one, scalar

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_END = datetime(2200, 1, 1, tzinfo=UTC)  # excluded
VALIDATE = Path(__file__).parents[2] / "migrations/20261127600700_validate_bounded_times.sql"

# Times outside the range, as a client would send them (PostgreSQL text).
OUT_OF_RANGE = {
    "year 10000": "10000-01-01 10:00:00+00",
    "44 BC": "0044-03-15 10:00:00+00 BC",
    "infinity": "infinity",
    "-infinity": "-infinity",
    "1899": "1899-12-31 23:59:59+00",
    "2200": "2200-01-01 00:00:00+00",
}


@pytest.fixture
def coach(pg: TestDatabase) -> Coach:
    return pg.sign_up()


def test_the_range_is_the_databases(pg: TestDatabase) -> None:
    bounds = pg.admin.execute(
        "select lower(r), upper(r), lower_inc(r), upper_inc(r) from private.user_time_range() as r"
    ).fetchone()
    assert bounds == (EARLIEST, LATEST_END, True, False)


@pytest.mark.parametrize("value", OUT_OF_RANGE.values(), ids=OUT_OF_RANGE.keys())
@pytest.mark.parametrize(
    "statement",
    [
        "insert into lessons (start_time, end_time) values (%(t)s, %(t)s::timestamptz + %(h)s)",
        "insert into lessons (start_time, end_time) values (%(t)s::timestamptz - %(h)s, %(t)s)",
        "update lessons set start_time = %(t)s, end_time = %(t)s::timestamptz + %(h)s",
        "update lessons set start_time = %(t)s::timestamptz - %(h)s, end_time = %(t)s",
        "update lessons set status = 'cancelled', cancelled_at = %(t)s",
        "insert into recurring_lessons (frequency, first_start_time, duration_minutes,"
        " timezone, occurrences) values ('weekly', %(t)s, 60, 'UTC', 2)",
    ],
    ids=["insert start", "insert end", "move start", "move end", "cancelled_at", "series start"],
)
def test_a_coach_can_not_write_a_time_outside_the_range(
    pg: TestDatabase, coach: Coach, statement: str, value: str
) -> None:
    book(pg, coach, [make_client(pg, coach)], NOW + hours(24))
    before = scalar(pg, "select array_agg(l order by id)::text from lessons l")
    with raises_sql("23514"), pg.as_coach(coach) as c:
        c.execute(statement, {"t": value, "h": timedelta(hours=1)})
    assert scalar(pg, "select array_agg(l order by id)::text from lessons l") == before
    assert scalar(pg, "select count(*) from recurring_lessons") == 0


@pytest.mark.parametrize("value", ["1899-12-31", "2200-01-01", "infinity", "10000-01-01"])
def test_a_coach_can_not_end_a_series_outside_the_range(
    pg: TestDatabase, coach: Coach, value: str
) -> None:
    with raises_sql("23514"), pg.as_coach(coach) as c:
        c.execute(
            "insert into recurring_lessons (frequency, first_start_time, duration_minutes,"
            " timezone, until_date) values ('weekly', '2030-01-01', 60, 'UTC', %s)",
            (value,),
        )
    assert scalar(pg, "select count(*) from recurring_lessons") == 0


def test_the_boundaries_are_accepted_on_a_direct_write(pg: TestDatabase, coach: Coach) -> None:
    with pg.as_coach(coach) as c:
        c.execute(
            "insert into lessons (start_time, end_time) values (%s, %s), (%s, %s)",
            (
                EARLIEST,
                EARLIEST + hours(1),
                LATEST_END - hours(1),
                LATEST_END - timedelta(minutes=1),
            ),
        )
        c.execute(
            "insert into recurring_lessons (frequency, first_start_time, duration_minutes,"
            " timezone, until_date) values ('weekly', %s, 60, 'UTC', '2199-12-31')",
            (EARLIEST,),
        )
    assert scalar(pg, "select min(start_time) from lessons") == EARLIEST
    assert scalar(pg, "select max(end_time) from lessons") == LATEST_END - timedelta(minutes=1)
    assert scalar(pg, "select until_date from recurring_lessons") == date(2199, 12, 31)


@pytest.mark.parametrize("value", OUT_OF_RANGE.values(), ids=OUT_OF_RANGE.keys())
def test_create_lesson_names_a_start_outside_the_range(
    pg: TestDatabase, coach: Coach, value: str
) -> None:
    with raises_sql("CB002", "invalid_argument") as info, pg.as_coach(coach) as c:
        rpc_one(
            c, "create_lesson_with_participants", p_client_ids=[make_client(pg, coach)],
            p_start_time=value, p_end_time="2030-01-01",
        )  # fmt: skip
    assert info.value.diag.message_primary.startswith("p_start_time must be a time from 1900")
    assert info.value.diag.column_name == "p_start_time"
    assert scalar(pg, "select count(*) from lessons") == 0


def test_create_lesson_names_an_end_past_the_range(pg: TestDatabase, coach: Coach) -> None:
    client = make_client(pg, coach)
    with raises_sql("CB002", "invalid_argument") as info, pg.as_coach(coach) as c:
        rpc_one(
            c, "create_lesson_with_participants", p_client_ids=[client],
            p_start_time=LATEST_END - timedelta(minutes=30), p_end_time="infinity",
        )  # fmt: skip
    assert info.value.diag.column_name == "p_end_time"
    assert scalar(pg, "select count(*) from lessons") == 0


def test_a_lesson_types_duration_can_not_carry_the_end_past_the_range(
    pg: TestDatabase, coach: Coach
) -> None:
    client = make_client(pg, coach)
    lesson_type = scalar(
        pg,
        "insert into lesson_types (coach_id, name, duration_minutes) values (%s, 'Long', 60)"
        " returning id",
        coach.id,
    )
    with raises_sql("CB002", "invalid_argument") as info, pg.as_coach(coach) as c:
        rpc_one(
            c, "create_lesson_with_participants", p_client_ids=[client],
            p_start_time=LATEST_END - timedelta(minutes=30), p_lesson_type_id=lesson_type,
        )  # fmt: skip
    assert info.value.diag.column_name == "p_end_time"
    with pg.as_coach(coach) as c:
        lesson = rpc_one(
            c, "create_lesson_with_participants", p_client_ids=[client],
            p_start_time=LATEST_END - timedelta(minutes=61), p_lesson_type_id=lesson_type,
        )  # fmt: skip
    assert lesson["end_time"] == LATEST_END - timedelta(minutes=1)


def test_the_largest_time_postgresql_knows_is_refused_without_an_overflow(
    pg: TestDatabase, coach: Coach
) -> None:
    """start + a lesson type's duration would overflow timestamptz (22008): refused first."""
    client = make_client(pg, coach)
    lesson = book(pg, coach, [client], NOW + hours(24))
    with raises_sql("CB002", "invalid_argument"), pg.as_coach(coach) as c:
        rpc_one(c, "update_lesson", p_lesson_id=lesson["id"], p_start_time="294276-12-31 00:00Z")
    with raises_sql("CB002", "invalid_argument"), pg.as_coach(coach) as c:
        rpc_one(
            c, "create_lesson_with_participants", p_client_ids=[client],
            p_start_time="294276-12-31 00:00Z",
        )  # fmt: skip


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"p_start_time": "10000-01-01Z"}, "p_start_time"),
        ({"p_start_time": "1899-12-31 23:00Z"}, "p_start_time"),
        ({"p_end_time": "2200-01-01 00:30Z"}, "p_end_time"),
        ({"p_start_time": "2199-12-31 23:30Z"}, "p_end_time"),  # the kept duration crosses 2200
    ],
)
def test_update_lesson_names_a_time_outside_the_range(
    pg: TestDatabase, coach: Coach, params: dict[str, str], field: str
) -> None:
    lesson = book(pg, coach, [make_client(pg, coach)], NOW + hours(24))
    with raises_sql("CB002", "invalid_argument") as info, pg.as_coach(coach) as c:
        rpc_one(c, "update_lesson", p_lesson_id=lesson["id"], **params)
    assert info.value.diag.column_name == field
    assert scalar(pg, "select start_time from lessons") == lesson["start_time"]


def _series(conn: psycopg.Connection, client: uuid.UUID, **params: object) -> list[tuple]:
    args = {"p_client_ids": [client], "p_duration_minutes": 60, "p_frequency": "weekly",
            "p_timezone": "UTC", **params}  # fmt: skip
    names = ", ".join(f"{k} => %({k})s" for k in args)
    return conn.execute(f"select * from create_recurring_lessons({names})", args).fetchall()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"p_first_start_time": "10000-01-01Z", "p_occurrences": 2}, "p_first_start_time"),
        ({"p_first_start_time": "0044-03-15Z BC", "p_occurrences": 2}, "p_first_start_time"),
        ({"p_first_start_time": "2030-01-01Z", "p_until_date": "2200-01-01"}, "p_until_date"),
        ({"p_first_start_time": "2030-01-01Z", "p_until_date": "infinity"}, "p_until_date"),
        (
            {"p_first_start_time": "2199-12-20 10:00Z", "p_occurrences": 3},
            "the end of the series' last lesson",
        ),
    ],
)
def test_a_series_outside_the_range_is_refused_naming_the_parameter(
    pg: TestDatabase, coach: Coach, params: dict[str, str], field: str
) -> None:
    client = make_client(pg, coach)
    with raises_sql("CB002", "invalid_argument") as info, pg.as_coach(coach) as c:
        _series(c, client, **params)
    assert info.value.diag.column_name == field
    assert scalar(pg, "select count(*) from recurring_lessons") == 0
    assert scalar(pg, "select count(*) from lessons") == 0


def test_a_series_up_to_the_last_day_is_accepted(pg: TestDatabase, coach: Coach) -> None:
    client = make_client(pg, coach)
    with pg.as_coach(coach) as c:
        lessons = _series(
            c, client, p_first_start_time="2199-12-17 22:00Z", p_until_date="2199-12-31"
        )
    assert len(lessons) == 3
    assert scalar(pg, "select max(end_time) from lessons") == datetime(
        2199, 12, 31, 23, 0, tzinfo=UTC
    )


def test_existing_rows_outside_the_range_stop_the_validation_naming_them(pg: TestDatabase) -> None:
    """A database that stored such rows before the bounds: the validating migration fails,
    counting them per column, and changes nothing."""
    coach = pg.sign_up()
    book(pg, coach, [make_client(pg, coach)], NOW + hours(24))
    constraints = pg.admin.execute(
        "select conname, pg_get_constraintdef(oid) from pg_constraint"
        " where conrelid = 'public.lessons'::regclass and conname like 'lessons_%%_in_range'"
    ).fetchall()
    assert len(constraints) == 3
    for name, _ in constraints:  # as before 20261127600500_bounded_times.sql
        pg.admin.execute(f"alter table lessons drop constraint {name}")
    pg.admin.execute(
        "insert into lessons (coach_id, start_time, end_time)"
        " values (%s, '10000-01-01', '10000-01-02'), (%s, '0044-03-15 BC', '0044-03-16 BC')",
        (coach.id, coach.id),
    )
    for name, definition in constraints:
        pg.admin.execute(f"alter table lessons add constraint {name} {definition} not valid")
    with pytest.raises(psycopg.errors.CheckViolation) as info:
        pg.admin.execute(VALIDATE.read_text())
    assert "lessons.start_time: 2, lessons.end_time: 2" in str(info.value)
    unvalidated = "select count(*) from pg_constraint where conname like 'lessons_%%_in_range'"
    assert scalar(pg, unvalidated + " and not convalidated") == 3
