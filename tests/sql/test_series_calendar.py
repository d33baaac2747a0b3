"""create_recurring_lessons against RFC 5545, the calendar standard.

The reference is `dateutil.rrule` (the RFC's recurrence rules, on naive local
times) with `zoneinfo` resolving each local time to an instant: `fold=0`
gives the first instant of a repeated time and moves a time in a gap forward
by the gap, as RFC 5545 section 3.3.5 asks. The first lesson is exactly the
instant given; `until_date` is inclusive, a local date of the series' zone;
each lesson lasts its duration in elapsed time.

Zones: every zone of tzdata whose UTC offset changed since 2000. The
database and Python may carry different tzdata releases; a case is compared
only where both agree on the offsets around every lesson (counted, and
required to be rare), so a difference in data is never taken for a
difference in rules.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import psycopg
import pytest
from dateutil.rrule import WEEKLY, rrule
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from backend.testing import Coach, TestDatabase
from tests.sql.conftest import make_client

SINCE = datetime(2000, 1, 1, tzinfo=UTC)
# Transitions up to here: tzdata releases of recent years agree on them.
UNTIL = datetime(2025, 6, 1, tzinfo=UTC)
DURATIONS = (30, 60, 90, 1440)


def _offset(zone: ZoneInfo, instant: datetime) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


@functools.cache
def zones_that_changed_since_2000() -> tuple[str, ...]:
    """Every tzdata zone with more than one UTC offset between 2000 and mid-2025."""
    changed = []
    for name in sorted(available_timezones()):
        if name.startswith(("Etc/", "SystemV/")) or "/" not in name:
            continue
        zone = ZoneInfo(name)
        offsets = {
            _offset(zone, datetime(year, month, 15, tzinfo=UTC))
            for year in range(2000, 2026)
            for month in (1, 4, 7, 10)
        }
        if len(offsets) > 1:
            changed.append(name)
    return tuple(changed)


@dataclass(frozen=True)
class Transition:
    at: datetime  # the instant the offset changes (UTC)
    before: timedelta
    after: timedelta

    @property
    def local_before(self) -> datetime:
        """The wall-clock reading at the change, on the old offset (naive)."""
        return (self.at + self.before).replace(tzinfo=None)


@functools.cache
def transitions(name: str) -> tuple[Transition, ...]:
    """The zone's offset changes since 2000, found weekly and narrowed to the minute."""
    zone = ZoneInfo(name)
    found = []
    step = timedelta(days=7)
    at = SINCE
    while at < UNTIL:
        if _offset(zone, at) != _offset(zone, at + step):
            low, high = 0, 7 * 24 * 60  # minutes after `at`: offset(low) is the old one
            while high - low > 1:
                middle = (low + high) // 2
                if _offset(zone, at + timedelta(minutes=middle)) == _offset(zone, at):
                    low = middle
                else:
                    high = middle
            change = at + timedelta(minutes=high)
            found.append(Transition(change, _offset(zone, at), _offset(zone, change)))
        at += step
    return tuple(found)


@dataclass(frozen=True)
class Series:
    zone: str
    first_start: datetime
    frequency: str
    duration_minutes: int
    occurrences: int | None
    until_date: date | None


def expected_starts(series: Series) -> list[datetime]:
    """RFC 5545 by dateutil and zoneinfo: the instants of the series' lessons."""
    zone = ZoneInfo(series.zone)
    local_start = series.first_start.astimezone(zone).replace(tzinfo=None)
    until = None
    if series.until_date is not None:
        until = datetime.combine(series.until_date, time.max)
    # RFC 5545 allows COUNT or UNTIL; with both, the series ends at the first reached.
    rule = rrule(
        WEEKLY,
        interval=1 if series.frequency == "weekly" else 2,
        dtstart=local_start,
        count=series.occurrences,
        until=until if series.occurrences is None else None,
    )
    local_times = [t for t in rule if until is None or t <= until]
    return [series.first_start.astimezone(UTC)] + [
        t.replace(tzinfo=zone, fold=0).astimezone(UTC) for t in local_times[1:]
    ]


def _readings(conn: psycopg.Connection[Any], zone: str, instants: list[datetime]) -> list[Any]:
    rows = conn.execute(
        "select t at time zone %s from unnest(%s::timestamptz[]) as t", (zone, instants)
    ).fetchall()
    return [r[0] for r in rows]


def same_tzdata(conn: psycopg.Connection[Any], series: Series, starts: list[datetime]) -> bool:
    """Both sides read the same local time at, and a day around, every lesson."""
    zone = ZoneInfo(series.zone)
    probes = [t + d for t in starts for d in (timedelta(days=-1), timedelta(0), timedelta(days=1))]
    local = [t.astimezone(zone).replace(tzinfo=None) for t in probes]
    return _readings(conn, series.zone, probes) == local


def run_series(
    conn: psycopg.Connection[Any], client: uuid.UUID, series: Series
) -> tuple[list[tuple[datetime, datetime]], datetime]:
    """The lessons (start, end) and the series' first_start_time; nothing is kept."""
    conn.execute("savepoint series")
    try:
        lessons = conn.execute(
            "select start_time, end_time from create_recurring_lessons("
            " p_client_ids => %s, p_first_start_time => %s, p_duration_minutes => %s,"
            " p_frequency => %s, p_until_date => %s, p_occurrences => %s, p_timezone => %s)",
            (
                [client],
                series.first_start,
                series.duration_minutes,
                series.frequency,
                series.until_date,
                series.occurrences,
                series.zone,
            ),
        ).fetchall()
        row = conn.execute("select first_start_time from recurring_lessons").fetchone()
        assert row is not None
        return [(r[0], r[1]) for r in lessons], row[0]
    finally:
        conn.execute("rollback to savepoint series")


def assert_follows_rfc5545(
    conn: psycopg.Connection[Any],
    client: uuid.UUID,
    series: Series,
    ran: tuple[list[tuple[datetime, datetime]], datetime] | None = None,
) -> None:
    expected = expected_starts(series)
    lessons, first_start_time = ran or run_series(conn, client, series)
    starts = [start for start, _end in lessons]
    assert starts == expected, series
    assert first_start_time == series.first_start, series
    duration = timedelta(minutes=series.duration_minutes)
    assert all(end - start == duration for start, end in lessons), series


@st.composite
def series_near_a_transition(draw: st.DrawFn) -> Series:
    """A series whose first lesson or a later one falls near an offset change."""
    name = draw(st.sampled_from(zones_that_changed_since_2000()))
    change = draw(st.sampled_from(transitions(name)))
    zone = ZoneInfo(name)
    weeks_before = draw(st.integers(min_value=0, max_value=6))
    shift = timedelta(minutes=draw(st.integers(min_value=-180, max_value=180)))
    local = change.local_before - timedelta(weeks=weeks_before) + shift
    first_start = local.replace(tzinfo=zone, fold=draw(st.sampled_from((0, 1))))
    first_start = first_start.astimezone(UTC)
    first_local_date = first_start.astimezone(zone).date()
    end = draw(st.sampled_from(("occurrences", "until", "both")))
    occurrences = draw(st.integers(min_value=1, max_value=12)) if end != "until" else None
    until_date = None
    if end != "occurrences":
        until_date = first_local_date + timedelta(days=draw(st.integers(0, 120)))
    return Series(
        zone=name,
        first_start=first_start,
        frequency=draw(st.sampled_from(("weekly", "biweekly"))),
        duration_minutes=draw(st.sampled_from(DURATIONS)),
        occurrences=occurrences,
        until_date=until_date,
    )


@pytest.fixture
def series_coach(pg: TestDatabase) -> tuple[Coach, uuid.UUID]:
    coach = pg.sign_up()
    return coach, make_client(pg, coach)


def test_zone_list_covers_the_zones_that_changed(pg: TestDatabase) -> None:
    names = zones_that_changed_since_2000()
    known = {r[0] for r in pg.admin.execute("select name from pg_timezone_names")}
    assert {"America/New_York", "Australia/Lord_Howe", "Pacific/Chatham"} <= set(names)
    assert "Asia/Kolkata" not in names  # +05:30 all along
    assert set(names) <= known
    assert all(transitions(name) for name in names)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(series=series_near_a_transition())
def test_series_match_rrule_and_zoneinfo(
    pg: TestDatabase, series_coach: tuple[Coach, uuid.UUID], series: Series
) -> None:
    coach, client = series_coach
    with pg.as_coach(coach) as conn:
        # The two tz databases must agree around the lessons either side places
        # (a zone's history may differ between PostgreSQL's copy and Python's).
        ran = run_series(conn, client, series)
        placed = [start for start, _end in ran[0]]
        agrees = same_tzdata(conn, series, expected_starts(series) + placed)
        event("compared" if agrees else "tzdata differs")
        assume(agrees)
        assert_follows_rfc5545(conn, client, series, ran)


def test_every_zone_resolves_local_times_as_rfc5545(pg: TestDatabase) -> None:
    """private.local_instant, which places every lesson after the first, for every
    zone: each local time from 3 hours before to 3 hours after the zone's last
    spring-forward and last fall-back before mid-2025, in steps of 10 minutes."""
    zones: list[str] = []
    local_times: list[datetime] = []
    for name in zones_that_changed_since_2000():
        last_of_each = {change.after > change.before: change for change in transitions(name)}
        for change in last_of_each.values():
            for minutes in range(-180, 181, 10):
                zones.append(name)
                local_times.append(change.local_before + timedelta(minutes=minutes))
    rows = pg.admin.execute(
        "select private.local_instant(c.local_time, c.zone)"
        " from unnest(%s::text[], %s::timestamp[]) with ordinality as c (zone, local_time, n)"
        " order by c.n",
        (zones, local_times),
    ).fetchall()
    expected = [
        local_time.replace(tzinfo=ZoneInfo(name), fold=0).astimezone(UTC)
        for name, local_time in zip(zones, local_times, strict=True)
    ]
    shifts = [timedelta(hours=h) for h in (-24, -1, 0, 1, 24)]
    probe_zones = [name for name in zones for _ in shifts]
    probes = [instant + shift for instant in expected for shift in shifts]
    readings = [
        r[0]
        for r in pg.admin.execute(
            "select c.instant at time zone c.zone"
            " from unnest(%s::text[], %s::timestamptz[]) with ordinality as c (zone, instant, n)"
            " order by c.n",
            (probe_zones, probes),
        )
    ]
    compared = skipped = 0
    for i, (name, local_time, (instant,)) in enumerate(zip(zones, local_times, rows, strict=True)):
        zone = ZoneInfo(name)
        around = slice(i * len(shifts), (i + 1) * len(shifts))
        if readings[around] != [t.astimezone(zone).replace(tzinfo=None) for t in probes[around]]:
            skipped += 1  # the two tzdata releases differ here
            continue
        assert instant == expected[i], (name, local_time)
        compared += 1
    print(f"local times compared: {compared}, not compared (tzdata differs): {skipped}")
    assert compared > 10_000
    assert skipped <= compared // 50


NEW_YORK = "America/New_York"


def test_a_repeated_time_is_its_first_instant(
    pg: TestDatabase, series_coach: tuple[Coach, uuid.UUID]
) -> None:
    """01:30 on 7 November 2027 in New York happens at 05:30 and 06:30 UTC: the
    series' lesson of that day is at 05:30 (EDT), one hour after 00:30 EDT."""
    coach, client = series_coach
    first = datetime(2027, 10, 31, 1, 30, tzinfo=ZoneInfo(NEW_YORK)).astimezone(UTC)
    series = Series(NEW_YORK, first, "weekly", 60, 2, None)
    with pg.as_coach(coach) as conn:
        lessons, _first = run_series(conn, client, series)
    assert [start for start, _end in lessons] == [
        datetime(2027, 10, 31, 5, 30, tzinfo=UTC),
        datetime(2027, 11, 7, 5, 30, tzinfo=UTC),
    ]


def test_first_lesson_is_the_instant_given_in_a_repeated_hour(
    pg: TestDatabase, series_coach: tuple[Coach, uuid.UUID]
) -> None:
    coach, client = series_coach
    first = datetime(2027, 11, 7, 1, 30, tzinfo=ZoneInfo(NEW_YORK), fold=0).astimezone(UTC)
    series = Series(NEW_YORK, first, "weekly", 60, 2, None)
    with pg.as_coach(coach) as conn:
        lessons, first_start_time = run_series(conn, client, series)
    assert lessons[0][0] == first == first_start_time == datetime(2027, 11, 7, 5, 30, tzinfo=UTC)
    assert lessons[1][0] == datetime(2027, 11, 14, 6, 30, tzinfo=UTC)  # 01:30 EST


def test_a_time_in_the_gap_moves_forward_by_the_gap(
    pg: TestDatabase, series_coach: tuple[Coach, uuid.UUID]
) -> None:
    """02:30 on 14 March 2027 does not happen in New York: that lesson is at 03:30
    EDT (07:30 UTC), and it lasts 90 minutes of elapsed time."""
    coach, client = series_coach
    first = datetime(2027, 3, 7, 2, 30, tzinfo=ZoneInfo(NEW_YORK)).astimezone(UTC)
    series = Series(NEW_YORK, first, "weekly", 90, 3, None)
    with pg.as_coach(coach) as conn:
        lessons, _first = run_series(conn, client, series)
    assert lessons[1] == (
        datetime(2027, 3, 14, 7, 30, tzinfo=UTC),
        datetime(2027, 3, 14, 9, 0, tzinfo=UTC),
    )
    assert lessons[2][0] == datetime(2027, 3, 21, 6, 30, tzinfo=UTC)  # 02:30 EDT again


def test_until_date_is_inclusive_in_the_series_zone(
    pg: TestDatabase, series_coach: tuple[Coach, uuid.UUID]
) -> None:
    """Tuesdays 20:00 in Los Angeles are Wednesdays 04:00 UTC: an until_date of the
    third Tuesday includes its lesson, read as a date of the series' zone, not of UTC."""
    coach, client = series_coach
    first = datetime(2027, 1, 5, 20, 0, tzinfo=ZoneInfo("America/Los_Angeles")).astimezone(UTC)
    series = Series("America/Los_Angeles", first, "weekly", 60, None, date(2027, 1, 19))
    with pg.as_coach(coach) as conn:
        lessons, _first = run_series(conn, client, series)
    assert len(lessons) == 3
    assert lessons[2][0] == datetime(2027, 1, 20, 4, 0, tzinfo=UTC)
