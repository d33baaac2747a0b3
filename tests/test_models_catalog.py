"""`backend/models.py` against the migrated catalog: the same columns, arguments and enum values.

The TypeScript types are generated from the catalog; the Python models are
written by hand, so this test is what keeps them from drifting: a column, a
function argument or an enum value on one side with no counterpart on the
other fails here, naming both.
"""

from __future__ import annotations

import types
import typing
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

import pytest
from pydantic import BaseModel

from backend import models

RELATION_MODELS: dict[str, type[BaseModel]] = models.RELATION_MODELS
# Relations of the exposed schema that no service returns, and why.
UNMODELLED_RELATIONS = {
    "recurring_lessons": "a series is reached through its lessons' recurring_lesson_id",
    "audit_log": "read by auditors in SQL, not by the service API",
    "stripe_events": "service_role only: the Stripe webhook's idempotency record",
}
# Each function a service calls, its input model, and the arguments a service
# passes beside the model (the id in the method's signature).
FUNCTION_INPUTS: dict[str, tuple[type[BaseModel] | None, set[str]]] = {
    "create_lesson_with_participants": (models.LessonCreate, set()),
    "update_lesson": (models.LessonUpdate, {"p_lesson_id"}),
    "cancel_lesson": (models.LessonCancel, {"p_lesson_id"}),
    "complete_lesson": (models.LessonComplete, {"p_lesson_id"}),
    "create_recurring_lessons": (models.RecurringLessonCreate, set()),
    "cancel_recurring_lessons": (None, {"p_recurring_lesson_id", "p_from"}),
    "record_payment": (models.PaymentRecord, set()),
}
# Functions of the schema no input model mirrors, and why.
NO_INPUT_MODEL = {
    "create_stripe_checkout_payment": "service_role only: called by the Stripe checkout code",
    "settle_stripe_checkout": "service_role only: called by the Stripe webhook",
    "record_stripe_event": "service_role only: the Stripe webhook stores each event",
    "finish_stripe_event": "service_role only: the Stripe webhook records an event's outcome",
    "fail_stripe_checkout": "service_role only: called by the Stripe webhook and reconciliation",
    "refund_stripe_payment": "service_role only: called by the Stripe webhook",
    "idempotent_write": "the gateways' envelope: p_write carries one of the writes above",
}
# Each enum type of the schema and the model type that spells its values.
ENUM_TYPES: dict[str, Any] = {
    "lesson_status": models.LessonStatus,
    "payment_status": models.PaymentStatus,
    "payment_method": models.PaymentMethod,
    "payment_state": models.PaymentState,
    "lesson_frequency": models.Frequency,
}
UNMODELLED_ENUMS = {"audit_action": "only in audit_log, which no service returns"}

# How a column's type reads in Python.
PYTHON_TYPES: dict[str, type] = {
    "uuid": UUID,
    "text": str,
    "timestamp with time zone": datetime,
    "date": date,
    "integer": int,
    "bigint": int,
    "boolean": bool,
}


def _relations(pg: Any) -> dict[str, dict[str, str]]:
    """Columns and their types of every table and view in `public`."""
    rows = pg.admin.execute(
        """
        select c.relname, a.attname,
               case when t.typtype = 'e' then 'enum:' || t.typname
                    else pg_catalog.format_type(a.atttypid, a.atttypmod) end
        from pg_catalog.pg_class c
        join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0
            and not a.attisdropped
        join pg_catalog.pg_type t on t.oid = a.atttypid
        where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'v', 'p')
        """
    ).fetchall()
    out: dict[str, dict[str, str]] = {}
    for relation, column, type_name in rows:
        out.setdefault(relation, {})[column] = type_name
    return out


def _functions(pg: Any) -> dict[str, dict[str, str]]:
    """Input arguments and their types of every function in `public` an API role may call."""
    rows = pg.admin.execute(
        """
        select p.proname, a.name,
               case when t.typtype = 'e' then 'enum:' || t.typname
                    else pg_catalog.format_type(a.type, null) end
        from pg_catalog.pg_proc p
        cross join lateral unnest(p.proargnames[1:p.pronargs], p.proargtypes::oid[])
            as a (name, type)
        join pg_catalog.pg_type t on t.oid = a.type
        where p.pronamespace = 'public'::regnamespace and p.prokind = 'f'
        """
    ).fetchall()
    out: dict[str, dict[str, str]] = {}
    for function, argument, type_name in rows:
        out.setdefault(function, {})[argument] = type_name
    return out


def _enums(pg: Any) -> dict[str, list[str]]:
    rows = pg.admin.execute(
        """
        select t.typname, array_agg(e.enumlabel order by e.enumsortorder)
        from pg_catalog.pg_type t join pg_catalog.pg_enum e on e.enumtypid = t.oid
        where t.typnamespace = 'public'::regnamespace
        group by t.typname
        """
    ).fetchall()
    return {name: list(labels) for name, labels in rows}


def _leaves(annotation: Any) -> set[Any]:
    """The plain types (and Literal values, as frozensets) an annotation accepts."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _leaves(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_leaves(arg) for arg in typing.get_args(annotation)))
    if origin is Literal:
        return {frozenset(typing.get_args(annotation))}
    if origin is list:
        return {("list", frozenset(_leaves(typing.get_args(annotation)[0])))}
    return {annotation}


def _fits(column_type: str, annotation: Any, enums: dict[str, list[str]]) -> bool:
    """True when values of the column's type parse into the field's annotation."""
    leaves = _leaves(annotation) - {type(None)}
    if column_type.endswith("[]"):
        element = column_type.removesuffix("[]")
        return any(
            isinstance(leaf, tuple) and _fits(element, typing.Union[tuple(leaf[1])], enums)  # noqa: UP007
            for leaf in leaves
        )
    if column_type.startswith("enum:"):
        labels = frozenset(enums[column_type.removeprefix("enum:")])
        return labels in leaves
    if column_type in ("jsonb", "json"):
        return bool(leaves & {Any, dict})
    expected = PYTHON_TYPES.get(column_type)
    if expected is datetime:
        return bool(leaves & {datetime}) or any(
            getattr(leaf, "__name__", "") == "AwareDatetime" for leaf in leaves
        )
    return expected in leaves


@pytest.mark.parametrize("relation", sorted(RELATION_MODELS))
def test_every_column_has_a_field_and_every_field_a_column(pg, relation):
    columns = _relations(pg)[relation]
    fields = RELATION_MODELS[relation].model_fields

    assert sorted(set(columns) - set(fields)) == [], f"columns of {relation} with no field"
    assert sorted(set(fields) - set(columns)) == [], f"fields with no column in {relation}"


@pytest.mark.parametrize("relation", sorted(RELATION_MODELS))
def test_every_field_reads_its_column_type(pg, relation):
    columns, enums = _relations(pg)[relation], _enums(pg)
    fields = RELATION_MODELS[relation].model_fields

    misfits = {
        name: columns[name]
        for name, field in fields.items()
        if name in columns and not _fits(columns[name], field.annotation, enums)
    }
    assert misfits == {}


def test_every_relation_of_the_schema_is_modelled_or_excused(pg):
    relations = set(_relations(pg))

    assert relations == set(RELATION_MODELS) | set(UNMODELLED_RELATIONS)


def test_every_function_is_modelled_or_excused(pg):
    functions = set(_functions(pg))

    assert functions == set(FUNCTION_INPUTS) | set(NO_INPUT_MODEL)


@pytest.mark.parametrize("function", sorted(FUNCTION_INPUTS))
def test_every_argument_has_a_field_and_every_field_an_argument(pg, function):
    arguments, enums = _functions(pg)[function], _enums(pg)
    model, passed_beside = FUNCTION_INPUTS[function]
    fields = {f"p_{name}": f for name, f in (model.model_fields if model else {}).items()}

    assert sorted(set(arguments) - set(fields) - passed_beside) == [], "arguments with no field"
    assert sorted(set(fields) - set(arguments)) == [], f"fields that {function} does not take"
    misfits = {
        name: arguments[name]
        for name, field in fields.items()
        if not _fits(arguments[name], field.annotation, enums)
        and not _text_enum(arguments[name], field, enums)
    }
    assert misfits == {}


def _text_enum(argument_type: str, field: Any, enums: dict[str, list[str]]) -> bool:
    """A `text` argument the function casts to an enum: the field spells that enum's values."""
    values = {leaf for leaf in _leaves(field.annotation) if isinstance(leaf, frozenset)}
    return argument_type == "text" and any(v in map(frozenset, enums.values()) for v in values)


@pytest.mark.parametrize("enum", sorted(ENUM_TYPES))
def test_every_enum_value_is_spelled_by_its_model_type(pg, enum):
    labels = _enums(pg)[enum]

    assert list(typing.get_args(ENUM_TYPES[enum])) == labels


def test_every_enum_of_the_schema_is_modelled_or_excused(pg):
    assert set(_enums(pg)) == set(ENUM_TYPES) | set(UNMODELLED_ENUMS)
