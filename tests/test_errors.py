"""The one mapping from database and PostgREST errors to typed errors (docs/errors.md)."""

from __future__ import annotations

import psycopg
import psycopg_pool
import pytest

from backend import errors
from backend.errors import (
    AlreadyPaid,
    BackendError,
    CapacityExceeded,
    ChargeNotPayable,
    Conflict,
    ContractError,
    DoubleBooking,
    Duplicate,
    DuplicateParticipant,
    Forbidden,
    LessonNotEditable,
    LessonTypeInactive,
    NotFound,
    PaidParticipantRemoval,
    PaymentMismatch,
    PaymentNotPending,
    RateLimited,
    ReferenceViolation,
    TooManyOccurrences,
    Unauthenticated,
    Unavailable,
    ValidationError,
    from_database_error,
    from_postgrest,
)

BUSINESS = [
    ("CB001", "not_found", NotFound),
    ("CB002", "invalid_argument", ValidationError),
    ("CB003", "lesson_type_inactive", LessonTypeInactive),
    ("CB004", "capacity_exceeded", CapacityExceeded),
    ("CB005", "duplicate_participant", DuplicateParticipant),
    ("CB006", "already_paid", AlreadyPaid),
    ("CB007", "charge_not_payable", ChargeNotPayable),
    ("CB008", "lesson_not_editable", LessonNotEditable),
    ("CB009", "paid_participant_removal", PaidParticipantRemoval),
    ("CB010", "too_many_occurrences", TooManyOccurrences),
    ("CB011", "payment_mismatch", PaymentMismatch),
    ("CB012", "not_authenticated", Unauthenticated),
    ("CB013", "payment_not_pending", PaymentNotPending),
]


@pytest.mark.parametrize(("sqlstate", "key", "cls"), BUSINESS)
def test_every_documented_business_error_maps_to_its_type_and_key(sqlstate, key, cls):
    error = from_database_error(sqlstate, "refused", hint=key)

    assert (type(error), error.key, error.sqlstate) == (cls, key, sqlstate)


def test_the_key_in_the_hint_decides_even_when_the_sqlstate_is_generic():
    error = from_database_error("P0001", "refused", hint="capacity_exceeded")

    assert isinstance(error, CapacityExceeded)


@pytest.mark.parametrize(
    ("sqlstate", "hint", "cls", "key"),
    [
        ("23505", None, Duplicate, "duplicate"),
        ("23503", None, ReferenceViolation, "foreign_key_violation"),
        ("23P01", None, DoubleBooking, "lesson_overlap"),
        ("23P01", "lesson_overlap", DoubleBooking, "lesson_overlap"),
        ("23514", None, ValidationError, "check_violation"),
        ("22P02", None, ValidationError, "invalid_text_representation"),
        ("42501", None, Forbidden, "forbidden"),
        ("42501", "tenant_immutable", Forbidden, "tenant_immutable"),
        ("42501", "audit_log_append_only", Forbidden, "audit_log_append_only"),
        ("42501", "charge_locked", Forbidden, "charge_locked"),
        ("42501", "payment_columns_protected", Forbidden, "payment_columns_protected"),
        ("40001", None, Unavailable, "serialization_failure"),
        ("40P01", None, Unavailable, "deadlock_detected"),
        ("57014", None, Unavailable, "query_canceled"),
        ("08006", None, Unavailable, "connection_failure"),
        ("53300", None, Unavailable, "insufficient_resources"),
        ("42883", None, ContractError, "undefined_function"),
    ],
)
def test_native_sqlstates_keep_their_meaning(sqlstate, hint, cls, key):
    error = from_database_error(sqlstate, "x", hint=hint)

    assert (type(error), error.key) == (cls, key)


def test_pgrst116_with_no_row_is_not_found():
    body = {
        "code": "PGRST116",
        "details": "The result contains 0 rows",
        "hint": None,
        "message": "JSON object requested, multiple (or no) rows returned",
    }

    assert isinstance(from_postgrest(body), NotFound)


def test_pgrst116_with_several_rows_is_a_contract_error_not_not_found():
    body = {"code": "PGRST116", "details": "The result contains 2 rows", "message": "x"}

    assert type(from_postgrest(body)) is ContractError


def test_pgrst202_keeps_postgrests_hint_in_the_message():
    body = {
        "code": "PGRST202",
        "details": "Searched for the function public.cancel_lesson with parameter p_id",
        "hint": "Perhaps you meant to call the function public.cancel_lesson(p_lesson_id)",
        "message": "Could not find the function public.cancel_lesson(p_id) in the schema cache",
    }

    error = from_postgrest(body)

    assert isinstance(error, ContractError)
    assert "Perhaps you meant to call the function public.cancel_lesson(p_lesson_id)" in str(error)


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("PGRST000", Unavailable),
        ("PGRST003", Unavailable),
        ("PGRST301", Unauthenticated),
        ("PGRST303", Unauthenticated),
        ("PGRST204", ContractError),
        ("PGRST205", ContractError),
        ("PGRST100", ContractError),
    ],
)
def test_postgrest_codes_map_to_typed_errors(code, cls):
    assert type(from_postgrest({"code": code, "message": "x"})) is cls


def test_an_unknown_code_is_still_a_backend_error_not_a_crash():
    error = from_database_error("XX000", "internal")

    assert type(error) is BackendError and error.expected is False


def test_only_faults_are_unexpected():
    expected = [ValidationError, NotFound, Forbidden, Conflict, DoubleBooking, Unauthenticated]
    faults = [Unavailable, ContractError, BackendError]

    assert all(cls.expected for cls in expected)
    assert not any(cls.expected for cls in faults)


def test_unavailable_is_retryable_and_business_errors_are_not():
    assert Unavailable("x").retryable and not DoubleBooking("x").retryable


def test_rate_limited_carries_retry_after():
    error = RateLimited("slow down", retry_after=12.5)

    assert (error.retry_after, error.key, error.expected) == (12.5, "rate_limited", True)


def test_every_documented_key_of_docs_errors_md_is_mapped():
    from pathlib import Path

    doc = Path(__file__).resolve().parents[1] / "docs" / "errors.md"
    if not doc.exists():
        pytest.fail("docs/errors.md is missing: the error contract must be documented")
    import re

    codes = set(re.findall(r"^\| (CB\d{3}) \|", doc.read_text(), flags=re.MULTILINE))

    assert codes and codes <= set(errors.BUSINESS_ERRORS)
    native_keys = set(
        re.findall(r"^\| \d{2}[0-9A-Z]{3} \| `(\w+)`", doc.read_text(), flags=re.MULTILINE)
    )
    assert native_keys and native_keys <= errors.NATIVE_KEYS


def test_psycopg_errors_map_through_their_diagnostics():
    class Diag:
        message_primary = "conflicting key value violates exclusion constraint"
        message_detail = None
        message_hint = None

    class FakePsycopgError(Exception):
        sqlstate = "23P01"
        diag = Diag()

    assert isinstance(errors.from_psycopg(FakePsycopgError()), DoubleBooking)


@pytest.mark.parametrize(
    "exc",
    [
        pytest.param(lambda: psycopg.errors.ConnectionTimeout("timed out"), id="ConnectionTimeout"),
        pytest.param(lambda: psycopg.errors.CancellationTimeout("x"), id="CancellationTimeout"),
        pytest.param(lambda: psycopg.OperationalError("server closed"), id="OperationalError"),
        pytest.param(lambda: psycopg.InterfaceError("connection is closed"), id="InterfaceError"),
        pytest.param(lambda: psycopg_pool.PoolTimeout("no connection"), id="PoolTimeout"),
        pytest.param(lambda: psycopg_pool.PoolClosed("the pool is closed"), id="PoolClosed"),
        pytest.param(lambda: psycopg_pool.TooManyRequests("queue full"), id="TooManyRequests"),
    ],
)
def test_driver_errors_without_a_sqlstate_are_unavailable_by_their_ancestry(exc):
    error = errors.from_psycopg(exc())

    assert isinstance(error, errors.Unavailable) and error.retryable


def test_a_driver_error_without_a_sqlstate_that_is_not_operational_is_not_retryable():
    error = errors.from_psycopg(psycopg.ProgrammingError("bad query"))

    assert type(error) is BackendError and not error.retryable


def test_the_databases_write_limit_is_rate_limited_with_its_retry_after() -> None:
    detail = '{"policy": "payment", "limit": 10, "window_seconds": 3600, "retry_after": 1234}'
    error = from_postgrest(
        {"code": "PT429", "message": "too many payment writes", "details": detail,
         "hint": "rate_limited"}
    )  # fmt: skip
    assert isinstance(error, RateLimited)
    assert (error.key, error.http_status, error.sqlstate) == ("rate_limited", 429, "PT429")
    assert (error.policy, error.limit, error.window_seconds, error.retry_after) == (
        "payment", 10, 3600.0, 1234.0,
    )  # fmt: skip


@pytest.mark.parametrize(
    "detail", [None, "", "not json", "[]", '{"retry_after": "soon"}', '{"retry_after": -5}',
               '{"retry_after": true}', '{"retry_after": 1e999}']
)  # fmt: skip
def test_a_database_limit_without_a_readable_detail_still_says_when_to_retry(
    detail: str | None,
) -> None:
    error = from_database_error("PT429", "too many lesson writes", detail=detail)
    assert isinstance(error, RateLimited)
    assert error.retry_after == 1.0 and error.policy is None
