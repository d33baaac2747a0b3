"""Input an attacker sends through every service method: each ends in a typed 4xx error that
names the field, changes nothing, and repeats at most a capped piece of what was sent.

The cases are tables run inside a few tests (one database each), not one test per case:
`HOSTILE_INPUTS_TRIED` below counts them for docs/reliability.md. Each is decided before
the database, so the tests run through the direct gateway only.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backend.errors import ECHO_MAX, BackendError, ValidationError
from backend.services import Services

pytestmark = pytest.mark.direct_only

MEGABYTE = "x" * 1_000_000
NUL = "a\x00b"
SURROGATE = "a\ud800b"
SQL = "'); drop table public.clients; -- \" ; select pg_sleep(10); $$ \\"
ID = str(uuid.uuid4())
WHEN = datetime(2030, 5, 6, 10, tzinfo=UTC)

SERIES: dict[str, Any] = {
    "client_ids": [ID],
    "first_start_time": WHEN,
    "duration_minutes": 30,
    "frequency": "weekly",
    "occurrences": 2,
}

Call = Callable[[Services, Any], Any]

# Every text field a coach writes, as (name, call with the value in that field).
TEXT_FIELDS: list[tuple[str, Call]] = [
    ("first_name", lambda s, v: s.clients.create(first_name=v)),
    ("last_name", lambda s, v: s.clients.create(first_name="A", last_name=v)),
    ("phone", lambda s, v: s.clients.create(first_name="A", phone=v)),
    ("notes", lambda s, v: s.clients.create(first_name="A", notes=v)),
    ("email", lambda s, v: s.clients.create(first_name="A", email=f"{v}@example.test")),
    ("name", lambda s, v: s.lesson_types.create(name=v, duration_minutes=30, price_cents=1)),
    (
        "description",
        lambda s, v: s.lesson_types.create(
            name="T", description=v, duration_minutes=30, price_cents=1
        ),
    ),
    ("full_name", lambda s, v: s.coaches.update(full_name=v)),
    ("business_name", lambda s, v: s.coaches.update(business_name=v)),
    ("timezone", lambda s, v: s.coaches.update(timezone=v)),
    (
        "title",
        lambda s, v: s.lessons.create(
            client_ids=[ID], start_time=WHEN, end_time=WHEN + timedelta(hours=1), title=v
        ),
    ),
    (
        "location",
        lambda s, v: s.lessons.create(
            client_ids=[ID], start_time=WHEN, end_time=WHEN + timedelta(hours=1), location=v
        ),
    ),
    (
        "notes",
        lambda s, v: s.lessons.create(
            client_ids=[ID], start_time=WHEN, end_time=WHEN + timedelta(hours=1), notes=v
        ),
    ),
    ("reason", lambda s, v: s.lessons.cancel(ID, reason=v)),
    (
        "note",
        lambda s, v: s.payments.record(client_id=ID, participant_ids=[ID], method="cash", note=v),
    ),
    ("title", lambda s, v: s.lessons.create_recurring(**SERIES, title=v)),
    ("timezone", lambda s, v: s.lessons.create_recurring(**SERIES, timezone=v)),
]

# Every id a service method takes, as (name, call with the value as that id).
ID_FIELDS: list[tuple[str, Call]] = [
    ("id", lambda s, v: s.clients.get(v)),
    ("id", lambda s, v: s.clients.update(v, first_name="A")),
    ("id", lambda s, v: s.clients.delete(v)),
    ("id", lambda s, v: s.lesson_types.get(v)),
    ("id", lambda s, v: s.lesson_types.update(v, name="A")),
    ("id", lambda s, v: s.lesson_types.delete(v)),
    ("id", lambda s, v: s.lessons.get(v)),
    ("lesson_id", lambda s, v: s.lessons.update(v, title="A")),
    ("lesson_id", lambda s, v: s.lessons.cancel(v)),
    ("lesson_id", lambda s, v: s.lessons.complete(v)),
    ("lesson_id", lambda s, v: s.lessons.participants(v)),
    ("recurring_lesson_id", lambda s, v: s.lessons.cancel_recurring(v)),
    ("id", lambda s, v: s.payments.get(v)),
    ("client_id", lambda s, v: s.payments.list(v)),
    ("client_id", lambda s, v: s.payments.charges(v)),
    ("client_id", lambda s, v: s.reads.balance(v)),
    ("client_id", lambda s, v: s.reads.history(v)),
]

AMOUNTS = [-1, -(2**31), 2**31, 10**20]
ZONES = ["Mars/Olympus", "../../etc/passwd", "", "UTC\x00", "Europe/"]
PAGE_SIZES: list[Any] = [0, -1, 10**9, "10", None, 2.5]
BAD_IDS: list[Any] = [123, 1.5, True, ["x"], {"a": 1}, NUL, SURROGATE, "not-a-uuid", MEGABYTE, SQL]


def _refusal(call: Call, svc: Services, value: Any) -> BackendError:
    try:
        call(svc, value)
    except BackendError as exc:
        return exc
    raise AssertionError(f"accepted {value!r:.40}")


def _refusals(cases: list[tuple[str, Call]], values: list[Any], svc: Services):
    """Each (field, value, error) of calling every case with every value."""
    for field, call in cases:
        for value in values:
            yield field, value, _refusal(call, svc, value)


def _clients(pg) -> int:
    return pg.admin.execute("select count(*) from public.clients").fetchone()[0]


def test_nul_bytes_surrogates_and_megabytes_in_every_text_field_are_field_errors(pg, svc):
    for field, value, error in _refusals(TEXT_FIELDS, [NUL, SURROGATE, MEGABYTE], svc):
        assert isinstance(error, ValidationError), (field, repr(value)[:20], error)
        assert field in " ".join(error.fields), (field, error.fields)
        assert len(error.message) < 400, (field, len(error.message))
    assert _clients(pg) == 0


def test_ids_that_are_not_uuids_are_field_errors_decided_before_the_database(svc):
    for field, value, error in _refusals(ID_FIELDS, BAD_IDS, svc):
        assert isinstance(error, ValidationError), (field, repr(value)[:20], error)
        assert error.sqlstate is None, (field, error.sqlstate)  # not the database's word
        assert list(error.fields) == [field], (field, error.fields)
        assert len(error.message) < 400


def test_a_megabyte_id_comes_back_capped_in_the_message(svc):
    error = _refusal(lambda s, v: s.clients.get(v), svc, MEGABYTE)

    assert f"… ({len(MEGABYTE)} characters)" in error.message
    assert "x" * (ECHO_MAX + 1) not in error.message


def test_a_megabyte_time_zone_comes_back_capped_in_the_field_message(svc):
    error = _refusal(lambda s, v: s.coaches.update(timezone=v), svc, "Europe/" + MEGABYTE)

    assert isinstance(error, ValidationError)
    assert len(error.fields["timezone"]) < 200


LATE = datetime(2199, 12, 31, 23, tzinfo=UTC)


# (start, end): None as the end lets the lesson type's duration set it.
OUT_OF_RANGE = [
    (datetime(9999, 12, 31, 23, 30, tzinfo=UTC), None),
    (datetime(1, 1, 1, 0, 30, tzinfo=UTC), datetime(1, 1, 1, 1, 30, tzinfo=UTC)),
    (LATE, None),
    (datetime(1899, 12, 31, 23, tzinfo=UTC), datetime(1900, 1, 1, 1, tzinfo=UTC)),
    (LATE, datetime(2200, 1, 1, tzinfo=UTC)),
]


def test_times_whose_lesson_would_leave_the_range_are_field_errors(svc, ann, single):
    for start, end in OUT_OF_RANGE:
        args: dict[str, Any] = {"client_ids": [ann.id], "start_time": start}
        if end is None:
            args["lesson_type_id"] = single.id
        else:
            args["end_time"] = end

        with pytest.raises(ValidationError) as caught:
            svc.lessons.create(**args)

        assert set(caught.value.fields) & {"start_time", "end_time"}, (start, end)


def test_a_series_whose_last_lesson_would_end_past_the_range_is_a_field_error(svc, ann):
    with pytest.raises(ValidationError) as caught:
        svc.lessons.create_recurring(
            client_ids=[ann.id],
            first_start_time=datetime(2199, 6, 1, 10, tzinfo=UTC),
            duration_minutes=60,
            frequency="weekly",
            occurrences=52,
        )

    assert "__root__" in caught.value.fields


def test_sql_metacharacters_in_text_are_stored_as_text(pg, svc):
    client = svc.clients.create(first_name=SQL[:200], notes=SQL)

    assert svc.clients.get(client.id).notes == SQL.strip()
    assert _clients(pg) == 1


def test_negative_and_huge_amounts_are_field_errors(svc):
    for price in AMOUNTS:
        with pytest.raises(ValidationError) as caught:
            svc.lesson_types.create(name="T", duration_minutes=30, price_cents=price)

        assert "price_cents" in caught.value.fields


def test_ten_thousand_ids_in_a_list_are_refused_before_the_database(svc):
    ids = [uuid.uuid4() for _ in range(10_000)]

    with pytest.raises(ValidationError) as caught:
        svc.lessons.create(client_ids=ids, start_time=WHEN, end_time=WHEN + timedelta(hours=1))

    assert "client_ids" in caught.value.fields


def test_invalid_time_zones_are_field_errors(svc):
    for zone in ZONES:
        with pytest.raises(ValidationError) as caught:
            svc.coaches.update(timezone=zone)

        assert "timezone" in caught.value.fields


def test_page_sizes_of_any_shape_are_field_errors(svc):
    for limit in PAGE_SIZES:
        with pytest.raises(ValidationError):
            svc.clients.list(limit=limit)


HOSTILE_INPUTS_TRIED = (
    len(TEXT_FIELDS) * 3
    + len(ID_FIELDS) * len(BAD_IDS)
    + 2  # the capped echoes
    + len(OUT_OF_RANGE)
    + 1  # the series
    + 1  # SQL metacharacters
    + len(AMOUNTS)
    + 1  # 10,000 ids
    + len(ZONES)
    + len(PAGE_SIZES)
)
