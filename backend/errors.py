"""The error hierarchy every caller catches, and the one mapping from database errors to it.

Callers catch at the level they care about: `BackendError` for anything this
package raised on purpose, `Conflict` for "the data is in a state that
refuses this", `DoubleBooking` for exactly one rule. `expected` says whether
an error is a normal business outcome (a refused request: never reported to
Sentry) or a fault worth someone's attention (reported).

Database errors reach Python two ways, as a psycopg exception (the direct
gateway) or as a PostgREST JSON error (the Supabase gateway). Both carry the
same four fields (SQLSTATE or PGRST code, message, detail, hint), and
`from_database_error` turns those fields into a typed error, so a rule proven
through one gateway fails the same way through the other. The business-rule
errors of the database functions use SQLSTATEs of class CB and always put
their machine key in the HINT (see docs/errors.md).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

# An input value an error message repeats is cut to this many characters (docs/reliability.md).
ECHO_MAX = 80
# No message or field message is longer than this, whatever it quotes.
MESSAGE_MAX = 1_000


def echo(value: object, limit: int = ECHO_MAX) -> str:
    """`value` as an error message may repeat it: at most `limit` characters, then an
    ellipsis and the original length, so a 1 MB input never comes back in a 1 MB error."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"


_LONG = ECHO_MAX + 1
_QUOTED = re.compile(rf'"([^"]{{{_LONG},}})"|\(([^()]{{{_LONG},}})\)')


def cap_echoes(text: str | None) -> str | None:
    """A database message or detail with every long quoted or parenthesized value capped."""
    if text is None:
        return None

    def capped(match: re.Match[str]) -> str:
        if match[1] is not None:
            return f'"{echo(match[1])}"'
        return f"({echo(match[2])})"

    return echo(_QUOTED.sub(capped, text), MESSAGE_MAX)


class BackendError(Exception):
    """Base of every error this package raises on purpose."""

    key: str = "backend_error"
    retryable: bool = False
    expected: bool = False
    http_status: int = 500

    def __init__(self, message: str, *, key: str | None = None) -> None:
        message = echo(message, MESSAGE_MAX)
        super().__init__(message)
        self.message = message
        if key is not None:
            self.key = key
        self.sqlstate: str | None = None
        self.detail: str | None = None
        self.hint: str | None = None
        # The offending input fields and their messages, when the error is about some.
        self.fields: dict[str, str] = {}


class ValidationError(BackendError):
    """The input breaks a rule; `fields` maps each offending field to its message."""

    key = "validation_failed"
    expected = True
    http_status = 422

    def __init__(
        self, message: str, *, key: str | None = None, fields: dict[str, str] | None = None
    ) -> None:
        super().__init__(message, key=key)
        self.fields = {echo(k): echo(v, MESSAGE_MAX) for k, v in (fields or {}).items()}


class TooManyOccurrences(ValidationError):
    key = "too_many_occurrences"


class NotFound(BackendError):
    """The row does not exist, or it is not the caller's (the two look the same on purpose)."""

    key = "not_found"
    expected = True
    http_status = 404


class Unauthenticated(BackendError):
    """No valid identity: a missing, expired, malformed or replayed token."""

    key = "not_authenticated"
    expected = True
    http_status = 401


class Forbidden(BackendError):
    """The caller is known but may not do this (row level security, privileges)."""

    key = "forbidden"
    expected = True
    http_status = 403


class CoachNotFound(Forbidden):
    """A valid token whose user has no coach account (no `coaches` row) yet."""

    key = "coach_not_found"


class Conflict(BackendError):
    """The request is well-formed but the current state of the data refuses it."""

    key = "conflict"
    expected = True
    http_status = 409


class Duplicate(Conflict):
    key = "duplicate"


class ReferenceViolation(Conflict):
    """A foreign key: the referenced row is missing, or a row is still referenced."""

    key = "foreign_key_violation"


class DoubleBooking(Conflict):
    key = "lesson_overlap"


class CapacityExceeded(Conflict):
    key = "capacity_exceeded"


class DuplicateParticipant(Conflict):
    key = "duplicate_participant"


class LessonTypeInactive(Conflict):
    key = "lesson_type_inactive"


class AlreadyPaid(Conflict):
    key = "already_paid"


class ChargeNotPayable(Conflict):
    key = "charge_not_payable"


class LessonNotEditable(Conflict):
    key = "lesson_not_editable"


class PaidParticipantRemoval(Conflict):
    key = "paid_participant_removal"


class PaymentMismatch(Conflict):
    key = "payment_mismatch"


class PaymentNotPending(Conflict):
    key = "payment_not_pending"


class RateLimited(BackendError):
    key = "rate_limited"
    expected = True
    http_status = 429

    def __init__(
        self,
        message: str,
        *,
        retry_after: float,
        key: str | None = None,
        limit: int | None = None,
        window_seconds: float | None = None,
        policy: str | None = None,
    ) -> None:
        super().__init__(message, key=key)
        self.retry_after = retry_after
        self.policy = policy  # which limit: auth, payment or lesson
        self.limit = limit  # the policy's requests per window, when known
        self.window_seconds = window_seconds


class IdempotencyMismatch(Conflict):
    """The idempotency key was already used, for a different request."""

    key = "idempotency_mismatch"


class Unavailable(BackendError):
    """The database or an upstream service could not answer now; trying again may work.

    `retry_after` (seconds) is set when the upstream said when to come back (a 429).
    """

    key = "unavailable"
    retryable = True
    http_status = 503

    def __init__(
        self, message: str, *, key: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, key=key)
        self.retry_after = retry_after


class ConnectionLost(Unavailable):
    """The database connection broke before the call committed: nothing of it was applied.

    The server rolls back a transaction whose connection dies before COMMIT
    arrives, so sending the call again is always safe; the direct gateway does
    so once, on another connection, before raising this.
    """

    key = "connection_lost"


class OutcomeUnknown(Unavailable):
    """A write was sent, but its answer was lost: it may or may not have been applied.

    Retryable only when the write carried an idempotency key (a retry with the
    same key can not apply it twice); without one, check whether it happened
    before sending it again.
    """

    key = "outcome_unknown"

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


def outcome_unknown(what: str, *, keyed: bool) -> OutcomeUnknown:
    """The error for a write whose answer was lost; `keyed`: it carried an idempotency key."""
    if keyed:
        advice = "send it again with the same idempotency key"
    else:
        advice = "check whether it was applied before sending it again"
    return OutcomeUnknown(
        f"{what}: the write may or may not have been applied; {advice}", retryable=keyed
    )


class InvalidWebhook(BackendError):
    """A webhook body that is not a correctly signed, recent event of the provider."""

    key = "invalid_signature"
    expected = True
    http_status = 400


class StripeRefused(BackendError):
    """Stripe answered, and refused the request (a bad key, an unknown account, bad parameters)."""

    key = "stripe_refused"
    http_status = 502


class StripeNotConfigured(BackendError):
    key = "stripe_not_configured"
    http_status = 503


class ContractError(BackendError):
    """The database does not match what this code calls: a missing function, column or table."""

    key = "contract_mismatch"


# The business-rule errors of the database functions: SQLSTATE class CB, key in the HINT.
BUSINESS_ERRORS: Mapping[str, tuple[str, type[BackendError]]] = {
    "CB001": ("not_found", NotFound),
    "CB002": ("invalid_argument", ValidationError),
    "CB003": ("lesson_type_inactive", LessonTypeInactive),
    "CB004": ("capacity_exceeded", CapacityExceeded),
    "CB005": ("duplicate_participant", DuplicateParticipant),
    "CB006": ("already_paid", AlreadyPaid),
    "CB007": ("charge_not_payable", ChargeNotPayable),
    "CB008": ("lesson_not_editable", LessonNotEditable),
    "CB009": ("paid_participant_removal", PaidParticipantRemoval),
    "CB010": ("too_many_occurrences", TooManyOccurrences),
    "CB011": ("payment_mismatch", PaymentMismatch),
    "CB012": ("not_authenticated", Unauthenticated),
    "CB013": ("payment_not_pending", PaymentNotPending),
    "CB014": ("idempotency_mismatch", IdempotencyMismatch),
}
_BY_KEY: Mapping[str, type[BackendError]] = {key: cls for key, cls in BUSINESS_ERRORS.values()}

# Keys the database puts in the HINT of some native errors: the SQLSTATE picks the class,
# the hint the key (docs/errors.md).
NATIVE_KEYS = frozenset(
    {
        "lesson_overlap",
        "tenant_immutable",
        "audit_log_append_only",
        "charge_locked",
        "payment_columns_protected",
    }
)

# Native PostgreSQL SQLSTATEs that keep their meaning.
NATIVE_ERRORS: Mapping[str, tuple[str, type[BackendError]]] = {
    "23505": ("duplicate", Duplicate),
    "23503": ("foreign_key_violation", ReferenceViolation),
    "23P01": ("lesson_overlap", DoubleBooking),
    "23514": ("check_violation", ValidationError),
    "23502": ("not_null_violation", ValidationError),
    "22P02": ("invalid_text_representation", ValidationError),
    "22023": ("invalid_parameter_value", ValidationError),
    "22007": ("invalid_datetime_format", ValidationError),
    "22008": ("datetime_field_overflow", ValidationError),
    "22001": ("string_too_long", ValidationError),
    "22003": ("numeric_value_out_of_range", ValidationError),
    "22P05": ("untranslatable_character", ValidationError),
    "22021": ("character_not_in_repertoire", ValidationError),
    "54000": ("program_limit_exceeded", ValidationError),
    "42501": ("forbidden", Forbidden),
    "P0002": ("not_found", NotFound),
    "40001": ("serialization_failure", Unavailable),
    "40P01": ("deadlock_detected", Unavailable),
    "55P03": ("lock_not_available", Unavailable),
    "57014": ("query_canceled", Unavailable),
    "42883": ("undefined_function", ContractError),
    "42P01": ("undefined_table", ContractError),
    "42703": ("undefined_column", ContractError),
}

# Whole SQLSTATE classes: connection trouble, exhausted resources, shutdown.
NATIVE_CLASSES: Mapping[str, tuple[str, type[BackendError]]] = {
    "08": ("connection_failure", Unavailable),
    "53": ("insufficient_resources", Unavailable),
    "57": ("operator_intervention", Unavailable),
    "28": ("invalid_authorization", Forbidden),
    # Any other data exception is about a value the caller sent (a 4xx, never a 500).
    "22": ("invalid_value", ValidationError),
    # A value too large or too deep for the server: also the caller's input.
    "54": ("input_too_large", ValidationError),
}

# PostgREST's own codes (https://docs.postgrest.org/en/stable/references/errors.html).
POSTGREST_ERRORS: Mapping[str, tuple[str, type[BackendError]]] = {
    "PGRST000": ("connection_failure", Unavailable),
    "PGRST001": ("connection_failure", Unavailable),
    "PGRST002": ("schema_cache_loading", Unavailable),
    "PGRST003": ("pool_timeout", Unavailable),
    "PGRST116": ("not_found", NotFound),
    "PGRST200": ("relationship_not_found", ContractError),
    "PGRST202": ("function_not_found", ContractError),
    "PGRST203": ("function_ambiguous", ContractError),
    "PGRST204": ("column_not_found", ContractError),
    "PGRST205": ("table_not_found", ContractError),
    "PGRST301": ("invalid_token", Unauthenticated),
    "PGRST302": ("not_authenticated", Unauthenticated),
    "PGRST303": ("invalid_token", Unauthenticated),
}


def from_database_error(
    code: str | None,
    message: str | None,
    *,
    detail: str | None = None,
    hint: str | None = None,
) -> BackendError:
    """The typed error for one database or PostgREST error; the single mapping of this package."""
    code = (code or "").upper()
    text = cap_echoes(message) or "the database refused the request"
    if code == DATABASE_RATE_LIMIT:
        return _database_rate_limit(text, detail, hint)  # its detail is the database's JSON
    detail = cap_echoes(detail)
    key, cls = _classify(code, detail, hint)
    if code == "PGRST303" and text == "JWT expired":
        key = "token_expired"  # as local token verification says it (backend.auth)
    if hint and code.startswith("PGRST2"):
        text = f"{text} ({hint})"  # PostgREST's hint names the function it would have called
    text, fields = _own_words(key, text)
    error = cls(text, key=key)
    error.fields = fields
    error.sqlstate = code or None
    error.detail = detail
    error.hint = hint
    return error


# The database's own write limits (docs/rules.md): PostgREST answers PT429 as HTTP 429.
DATABASE_RATE_LIMIT = "PT429"
# When the DETAIL does not say (it always does), try again after a second.
_DEFAULT_RETRY_AFTER = 1.0


def _database_rate_limit(message: str, detail: str | None, hint: str | None) -> RateLimited:
    """PT429; its DETAIL is a JSON object: `policy`, `limit`, `window_seconds`, `retry_after`."""
    try:
        facts = json.loads(detail or "{}")
    except ValueError:
        facts = {}
    if not isinstance(facts, dict):
        facts = {}

    def number(name: str) -> float | None:
        value = facts.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return float(value) if math.isfinite(value) and value >= 0 else None

    policy = facts.get("policy")
    limit = number("limit")
    error = RateLimited(
        message,
        retry_after=number("retry_after") or _DEFAULT_RETRY_AFTER,
        limit=None if limit is None else int(limit),
        window_seconds=number("window_seconds"),
        policy=policy if isinstance(policy, str) else None,
    )
    error.sqlstate, error.detail, error.hint = DATABASE_RATE_LIMIT, detail, hint
    return error


def _classify(code: str, detail: str | None, hint: str | None) -> tuple[str, type[BackendError]]:
    documented = (hint or "").strip()
    if code.startswith("CB") or documented in _BY_KEY:
        if documented in _BY_KEY:
            return documented, _BY_KEY[documented]
        return BUSINESS_ERRORS.get(code, ("business_rule", Conflict))
    if code == "23503" and _NO_COACH.search(detail or ""):
        return "coach_not_found", CoachNotFound
    if code == "PGRST116" and not _zero_rows(detail):
        return "multiple_rows", ContractError
    for table in (NATIVE_ERRORS, POSTGREST_ERRORS):
        if code in table:
            key, cls = table[code]
            return (documented if documented in NATIVE_KEYS else key), cls
    if code[:2] in NATIVE_CLASSES:
        return NATIVE_CLASSES[code[:2]]
    if code.startswith("PGRST1"):
        return "bad_request", ContractError
    return "database_error", BackendError


# The only foreign keys to `coaches` are the business rows' `coach_id`: a violation
# means the caller's user has no `coaches` row, not that the request named a wrong
# id. (RLS on `coaches` keeps the key's value out of the detail.)
_NO_COACH = re.compile(r'is not present in table "coaches"')
# The unique constraints a caller can run into, as the field it is about and what
# to say. (RLS keeps the clashing values out of the database's DETAIL.)
UNIQUE_FIELDS: Mapping[str, tuple[str, str]] = {
    "lesson_types_name_per_coach_key": ("name", "a lesson type with this name already exists"),
    "lesson_participants_lesson_client_key": ("client_ids", "the client is already in the lesson"),
    "coaches_stripe_account_id_key": (
        "stripe_account_id",
        "this Stripe account belongs to another coach",
    ),
    "payments_stripe_checkout_session_id_key": (
        "stripe_checkout_session_id",
        "a payment for this checkout session already exists",
    ),
    "payments_stripe_payment_intent_id_key": (
        "stripe_payment_intent_id",
        "a payment for this payment intent already exists",
    ),
}
_CONSTRAINT = re.compile(r'constraint "(?P<name>[^"]+)"')
COACH_NOT_FOUND_MESSAGE = "the signed-in user has no coach account"
OVERLAP_MESSAGE = "the lesson overlaps another lesson of this coach that is not cancelled"


def _own_words(key: str, message: str) -> tuple[str, dict[str, str]]:
    """The database's message in this layer's words, with the input field it is about.

    Raw constraint names are the schema's business; a caller reads which
    field clashed. Messages the functions word themselves pass unchanged.
    """
    constraint = _CONSTRAINT.search(message)
    if key == "coach_not_found":
        return COACH_NOT_FOUND_MESSAGE, {}
    if key == "duplicate" and constraint and constraint["name"] in UNIQUE_FIELDS:
        field, text = UNIQUE_FIELDS[constraint["name"]]
        return text, {field: text}
    if key == "duplicate" and constraint:
        return "a row with these values already exists", {}
    if key == "lesson_overlap":
        # The functions name the lesson that holds the slot; a direct write gets the rule.
        text = OVERLAP_MESSAGE if constraint else message
        return text, {"start_time": "overlaps another lesson"}
    return message, {}


def _zero_rows(detail: str | None) -> bool:
    """PGRST116 means "no row" or "more than one row"; its detail ("The result contains
    N rows") says which."""
    if detail is None:
        return True
    count = re.search(r"\bcontains (\d+) rows?\b", detail)
    if count is not None:
        return int(count[1]) == 0
    return "no rows" in detail.lower()


def from_psycopg(exc: BaseException) -> BackendError:
    """The typed error for a psycopg exception (duck-typed: errors.py imports no driver)."""
    diag: Any = getattr(exc, "diag", None)
    sqlstate: str | None = getattr(exc, "sqlstate", None)
    if diag is None or sqlstate is None:
        # By ancestry, not exact name: ConnectionTimeout, PoolTimeout, PoolClosed, TooManyRequests…
        names = {cls.__name__ for cls in type(exc).__mro__}
        if names & {"OperationalError", "PoolTimeout", "PoolClosed", "InterfaceError"}:
            error: BackendError = Unavailable(f"the database is unavailable: {first_line(exc)}")
            return error
        return BackendError(first_line(exc), key="database_error")
    return from_database_error(
        sqlstate,
        diag.message_primary or first_line(exc),
        detail=diag.message_detail,
        hint=diag.message_hint,
    )


def from_postgrest(error: Mapping[str, Any]) -> BackendError:
    """The typed error for a PostgREST JSON error body (or postgrest-py's `APIError.json()`)."""
    detail = error.get("details")
    return from_database_error(
        error.get("code"),
        error.get("message"),
        detail=None if detail is None else str(detail),
        hint=error.get("hint"),
    )


def first_line(exc: BaseException) -> str:
    """The first non-blank line of an exception's text (drivers add hints below it)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
