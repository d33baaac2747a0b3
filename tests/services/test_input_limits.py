"""Input models mirror the database's text limits: over-long input fails before the round trip."""

from __future__ import annotations

import re

import pydantic
import pytest

from backend import models

# (table, column) -> (model, field): every bounded text column a service writes.
MIRRORED = {
    ("clients", "first_name"): (models.ClientCreate, "first_name"),
    ("clients", "last_name"): (models.ClientCreate, "last_name"),
    ("clients", "phone"): (models.ClientCreate, "phone"),
    ("clients", "notes"): (models.ClientCreate, "notes"),
    ("lesson_types", "name"): (models.LessonTypeCreate, "name"),
    ("lesson_types", "description"): (models.LessonTypeCreate, "description"),
    ("lessons", "title"): (models.LessonCreate, "title"),
    ("lessons", "location"): (models.LessonCreate, "location"),
    ("lessons", "notes"): (models.LessonCreate, "notes"),
    ("lessons", "cancellation_reason"): (models.LessonCancel, "reason"),
    ("recurring_lessons", "title"): (models.RecurringLessonCreate, "title"),
    ("payments", "note"): (models.PaymentRecord, "note"),
}


def model_limit(model: type[pydantic.BaseModel], field: str) -> int:
    schema = model.model_json_schema()["properties"][field]
    options = schema.get("anyOf", [schema])
    return next(int(o["maxLength"]) for o in options if "maxLength" in o)


def test_every_database_text_limit_is_mirrored_by_the_models(pg) -> None:
    rows = pg.admin.execute(
        "select c.conrelid::regclass::text, pg_get_constraintdef(c.oid) from pg_constraint c"
        " where c.contype = 'c' and c.connamespace = 'public'::regnamespace"
        " and pg_get_constraintdef(c.oid) like '%char_length(%'"
    ).fetchall()
    database = {}
    for table, definition in rows:
        match = re.search(r"char_length\((\w+)\) <= (\d+)", definition)
        assert match, definition
        database[(table.removeprefix("public."), match[1])] = int(match[2])

    mirrored = {key: model_limit(*target) for key, target in MIRRORED.items()}

    assert {key: database[key] for key in MIRRORED} == mirrored


@pytest.mark.parametrize(("key", "target"), MIRRORED.items(), ids=lambda v: str(v))
def test_text_one_over_the_limit_is_refused_with_the_field_named(key, target) -> None:
    model, field = target
    limit = model_limit(model, field)
    with pytest.raises(pydantic.ValidationError) as refused:
        model.model_validate({**_minimal(model), field: "x" * (limit + 1)})
    assert refused.value.errors()[0]["loc"] == (field,)
    # At the limit the same input is accepted.
    model.model_validate({**_minimal(model), field: "x" * limit})


def _minimal(model: type[pydantic.BaseModel]) -> dict[str, object]:
    """The smallest valid input of each model."""
    one = "8f1d0e8c-9f14-4a4e-a1d2-5b1f6c7d8e9f"
    start = "2027-01-04T17:00:00+00:00"
    return {
        models.ClientCreate: {"first_name": "Ann"},
        models.LessonTypeCreate: {"name": "Tennis", "duration_minutes": 60, "price_cents": 0},
        models.LessonCreate: {
            "client_ids": [one],
            "start_time": start,
            "end_time": start[:11] + "18:00:00+00:00",
        },
        models.LessonCancel: {},
        models.RecurringLessonCreate: {
            "client_ids": [one],
            "first_start_time": start,
            "duration_minutes": 60,
            "frequency": "weekly",
            "occurrences": 2,
        },
        models.PaymentRecord: {"client_id": one, "participant_ids": [one], "method": "cash"},
    }[model]
