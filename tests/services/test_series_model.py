"""RecurringLessonCreate reads until_date as the database does: a local date of the
series' zone, inclusive."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pydantic
import pytest

from backend import models
from tests.sql.conftest import make_client, raises_sql

# Tuesday 5 January 2027, 20:00 in Los Angeles: already Wednesday in UTC.
FIRST = datetime(2027, 1, 6, 4, 0, tzinfo=UTC)
LOS_ANGELES = "America/Los_Angeles"


def _series(**fields: object) -> models.RecurringLessonCreate:
    return models.RecurringLessonCreate.model_validate(
        {
            "client_ids": [uuid.uuid4()],
            "first_start_time": FIRST,
            "duration_minutes": 60,
            "frequency": "weekly",
            **fields,
        }
    )


def _database_lessons(pg, until: date) -> int:
    coach = pg.sign_up()
    with pg.as_coach(coach) as c:
        return len(
            c.execute(
                "select * from create_recurring_lessons(p_client_ids => %s,"
                " p_first_start_time => %s, p_duration_minutes => 60, p_frequency => 'weekly',"
                " p_until_date => %s, p_timezone => %s)",
                ([make_client(pg, coach)], FIRST, until, LOS_ANGELES),
            ).fetchall()
        )


def test_until_date_of_the_first_lesson_in_the_series_zone_is_accepted_by_both(pg) -> None:
    series = _series(until_date=date(2027, 1, 5), timezone=LOS_ANGELES)
    assert series.until_date == date(2027, 1, 5)
    assert _database_lessons(pg, date(2027, 1, 5)) == 1


def test_until_date_before_the_first_lesson_in_the_series_zone_is_refused_by_both(pg) -> None:
    with pytest.raises(pydantic.ValidationError, match="until_date must not be before"):
        _series(until_date=date(2027, 1, 4), timezone=LOS_ANGELES)
    with raises_sql("CB002", "invalid_argument"):
        _database_lessons(pg, date(2027, 1, 4))


def test_without_a_zone_only_a_date_before_every_zones_first_date_is_refused() -> None:
    # 04:00 UTC on 6 January is 5 January from UTC-04:00 westwards
    assert _series(until_date=date(2027, 1, 5)).until_date == date(2027, 1, 5)
    with pytest.raises(pydantic.ValidationError, match="until_date must not be before"):
        _series(until_date=date(2027, 1, 4))


def test_a_price_above_the_databases_largest_is_refused() -> None:
    assert _series(occurrences=1, price_cents=models.MAX_PRICE_CENTS).price_cents == 100_000_000
    with pytest.raises(pydantic.ValidationError):
        _series(occurrences=1, price_cents=models.MAX_PRICE_CENTS + 1)
