"""Typed inputs and results of the service API.

Inputs mirror the database's rules (`docs/domain.md`) so that bad input fails
before the round trip, with a message per field; the database stays the
authority and checks everything again. Results are what the functions and
views return, parsed from either gateway: ids are `UUID`, times are aware
`datetime`, money is integer cents.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Generic, Literal, Self, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    field_validator,
    model_validator,
)

# The limits of the database's `integer` columns, and its largest price
# (private.max_price_cents(), in cents).
INT4_MAX = 2_147_483_647
MAX_PRICE_CENTS = 100_000_000
MAX_OCCURRENCES = 104

# The database's text limits (check constraints, 23514), mirrored so that
# over-long input fails here with a field-level message.
NAME_MAX = 200  # names and titles
PHONE_MAX = 50
LOCATION_MAX = 500
NOTE_MAX = 1_000  # a cancellation reason, a payment note
NOTES_MAX = 10_000  # notes and descriptions


# The one range of every time a user writes (docs/reliability.md); the database holds
# the same range (docs/rules.md), so a row it accepts is one every reader can read.
TIME_MIN = datetime(1900, 1, 1, tzinfo=UTC)
TIME_MAX = datetime(2200, 1, 1, tzinfo=UTC)  # excluded
TIME_RANGE_TEXT = "from 1900-01-01 up to (not including) 2200-01-01 UTC"


def in_time_range(value: datetime) -> bool:
    """Is an aware time inside [TIME_MIN, TIME_MAX)?"""
    return TIME_MIN <= value < TIME_MAX


def _time_in_range(value: datetime) -> datetime:
    if not in_time_range(value):
        raise ValueError(f"must be {TIME_RANGE_TEXT}")
    return value


def _date_in_range(value: date) -> date:
    if not TIME_MIN.date() <= value < (TIME_MAX - timedelta(days=1)).date():
        raise ValueError(f"must be {TIME_RANGE_TEXT}, with a day to spare")
    return value


# An aware time inside the range: every time field of every input.
Moment = Annotated[AwareDatetime, AfterValidator(_time_in_range)]
Day = Annotated[date, AfterValidator(_date_in_range)]
ECHO_MAX = 80  # the same cap as backend.errors.ECHO_MAX: models import nothing of ours


def _echo(value: str) -> str:
    return value if len(value) <= ECHO_MAX else f"{value[:ECHO_MAX]}… ({len(value)} characters)"


def _text(max_length: int, *, min_length: int = 0) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


NonBlank = Annotated[str, _text(NAME_MAX, min_length=1)]  # names must not be blank
OptionalName = Annotated[str, _text(NAME_MAX)] | None
OptionalLocation = Annotated[str, _text(LOCATION_MAX)] | None
OptionalNote = Annotated[str, _text(NOTE_MAX)] | None
OptionalNotes = Annotated[str, _text(NOTES_MAX)] | None
Cents = Annotated[int, Field(ge=0, le=MAX_PRICE_CENTS)]
DURATION_MAX_MINUTES = 1440
DurationMinutes = Annotated[int, Field(ge=1, le=DURATION_MAX_MINUTES)]
LessonStatus = Literal["scheduled", "completed", "cancelled", "no_show"]
PaymentStatus = Literal["unpaid", "paid", "waived", "refunded"]
PaymentMethod = Literal["stripe", "cash", "card", "bank_transfer", "other"]
PaymentState = Literal["pending", "succeeded", "failed", "refunded"]
Frequency = Literal["weekly", "biweekly"]
# A plain shape check: the address is the coach's business, not proof that it exists.
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]
Phone = Annotated[str, _text(PHONE_MAX)]


class Input(BaseModel):
    """Base of every input: unknown fields are refused, not silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Result(BaseModel):
    """Base of every result: columns this code does not know yet are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


def _distinct(ids: list[UUID]) -> list[UUID]:
    if len(set(ids)) != len(ids):
        raise ValueError("must not name the same client twice")
    return ids


def _check_timezone(name: str | None) -> str | None:
    if name is None:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"unknown time zone {_echo(name)!r} (use an IANA name like 'Europe/Paris')"
        ) from None
    return name


# --- coaches -----------------------------------------------------------------------------


class Coach(Result):
    id: UUID
    full_name: str | None = None
    email: str | None = None
    business_name: str | None = None
    timezone: str = "UTC"
    currency: str = "usd"
    stripe_account_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class CoachCreate(Input):
    """A new coach account: a Supabase Auth user, whose sign-up makes its `coaches` row."""

    email: Email
    full_name: NonBlank
    # Supabase Auth's default minimum; a user without a password signs in by e-mail link.
    password: Annotated[SecretStr, Field(min_length=6, max_length=72)] | None = None


class CoachUpdate(Input):
    """What a coach may change of its own profile (the id and Stripe account are not its to set)."""

    full_name: Annotated[str, _text(NAME_MAX)] | None = None
    business_name: Annotated[str, _text(NAME_MAX)] | None = None
    timezone: str | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[a-z]{3}$")] | None = None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, name: str | None) -> str | None:
        return _check_timezone(name)


# --- clients -----------------------------------------------------------------------------


class ClientCreate(Input):
    first_name: NonBlank
    last_name: OptionalName = None
    email: Email | None = None
    phone: Phone | None = None
    notes: OptionalNotes = None
    is_active: bool = True


class ClientUpdate(Input):
    first_name: NonBlank | None = None
    last_name: OptionalName = None
    email: Email | None = None
    phone: Phone | None = None
    notes: OptionalNotes = None
    is_active: bool | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("nothing to change: give at least one field")
        return self


class Client(Result):
    id: UUID
    coach_id: UUID
    first_name: str
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    notes: str | None = None
    is_active: bool = True
    created_at: datetime | None = None
    updated_at: datetime | None = None


# --- lesson types ------------------------------------------------------------------------


class LessonTypeCreate(Input):
    name: NonBlank
    description: OptionalNotes = None
    duration_minutes: DurationMinutes
    price_cents: Cents
    max_participants: Annotated[int, Field(ge=1, le=INT4_MAX)] = 1
    is_active: bool = True


class LessonTypeUpdate(Input):
    name: NonBlank | None = None
    description: OptionalNotes = None
    duration_minutes: DurationMinutes | None = None
    price_cents: Cents | None = None
    max_participants: Annotated[int, Field(ge=1, le=INT4_MAX)] | None = None
    is_active: bool | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("nothing to change: give at least one field")
        return self


class LessonType(Result):
    id: UUID
    coach_id: UUID
    name: str
    description: str | None = None
    duration_minutes: int
    price_cents: int
    max_participants: int = 1
    is_active: bool = True
    created_at: datetime | None = None
    updated_at: datetime | None = None


# --- lessons -----------------------------------------------------------------------------


def latest_end(start: datetime) -> datetime:
    """The latest end a lesson starting at `start` can have when its lesson type's
    duration (unknown to the caller, at most DURATION_MAX_MINUTES) sets it."""
    return start + timedelta(minutes=DURATION_MAX_MINUTES)


class LessonCreate(Input):
    """`create_lesson_with_participants`: the end time and price default from the lesson type."""

    client_ids: Annotated[list[UUID], Field(min_length=1, max_length=1000)]
    start_time: Moment
    end_time: Moment | None = None
    lesson_type_id: UUID | None = None
    title: OptionalName = None
    location: OptionalLocation = None
    notes: OptionalNotes = None
    price_cents: Cents | None = None

    _distinct_clients = field_validator("client_ids")(_distinct)

    @model_validator(mode="after")
    def _times(self) -> Self:
        if self.end_time is not None and self.end_time <= self.start_time:
            raise ValueError("end_time must be after start_time")
        if self.end_time is None and self.lesson_type_id is None:
            raise ValueError("give end_time, or a lesson_type_id whose duration sets it")
        return self


class LessonUpdate(Input):
    """`update_lesson`: a field left out stays as it is; `client_ids` replaces the participants."""

    start_time: Moment | None = None
    end_time: Moment | None = None
    title: OptionalName = None
    location: OptionalLocation = None
    notes: OptionalNotes = None
    client_ids: Annotated[list[UUID], Field(min_length=1, max_length=1000)] | None = None

    @field_validator("client_ids")
    @classmethod
    def _distinct_clients(cls, ids: list[UUID] | None) -> list[UUID] | None:
        return None if ids is None else _distinct(ids)

    @model_validator(mode="after")
    def _times(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("nothing to change: give at least one field")
        if self.start_time and self.end_time and self.end_time <= self.start_time:
            raise ValueError("end_time must be after start_time")
        return self


class LessonCancel(Input):
    reason: OptionalNote = None


class LessonComplete(Input):
    absent_client_ids: list[UUID] = Field(default_factory=list)


class RecurringLessonCreate(Input):
    """`create_recurring_lessons`: the whole series or nothing, at most 104 lessons."""

    client_ids: Annotated[list[UUID], Field(min_length=1, max_length=1000)]
    first_start_time: Moment
    duration_minutes: DurationMinutes
    frequency: Frequency
    until_date: Day | None = None
    occurrences: Annotated[int, Field(ge=1, le=MAX_OCCURRENCES)] | None = None
    lesson_type_id: UUID | None = None
    title: OptionalName = None
    location: OptionalLocation = None
    timezone: str | None = None
    price_cents: Cents | None = None

    _distinct_clients = field_validator("client_ids")(_distinct)

    @field_validator("timezone")
    @classmethod
    def _iana(cls, name: str | None) -> str | None:
        return _check_timezone(name)

    @model_validator(mode="after")
    def _bounded(self) -> Self:
        if self.until_date is None and self.occurrences is None:
            raise ValueError("give until_date or occurrences: a series must end")
        if self.until_date is not None and self.until_date < self._earliest_first_date():
            raise ValueError("until_date must not be before the first lesson")
        if self.occurrences is not None and not in_time_range(self._last_end()):
            raise ValueError(f"the series' last lesson would end past {TIME_MAX.date()}")
        return self

    def _last_end(self) -> datetime:
        """When the `occurrences`-th lesson ends at the latest (a day's slack for DST)."""
        step = timedelta(weeks=1 if self.frequency == "weekly" else 2)
        count = (self.occurrences or 1) - 1
        return (
            self.first_start_time + step * count + timedelta(minutes=self.duration_minutes, days=1)
        )

    def _earliest_first_date(self) -> date:
        """The first lesson's local date in the series' zone, as the database reads until_date.

        Without a zone the series takes the coach's, unknown here: only a date
        before the first lesson's date in every zone (UTC offsets reach -12 h)
        is refused, and the database decides the rest.
        """
        if self.timezone is not None:
            return self.first_start_time.astimezone(ZoneInfo(self.timezone)).date()
        return (self.first_start_time.astimezone(UTC) - timedelta(hours=12)).date()


class Lesson(Result):
    id: UUID
    coach_id: UUID
    client_id: UUID | None = None
    lesson_type_id: UUID | None = None
    recurring_lesson_id: UUID | None = None
    is_recurring: bool = False
    title: str | None = None
    start_time: datetime
    end_time: datetime
    status: LessonStatus
    location: str | None = None
    notes: str | None = None
    price_cents: int | None = None
    cancelled_at: datetime | None = None
    cancellation_reason: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class LessonParticipant(Result):
    id: UUID
    lesson_id: UUID
    client_id: UUID
    coach_id: UUID
    price_cents: int
    payment_status: PaymentStatus
    payment_id: UUID | None = None
    paid_at: datetime | None = None
    attended: bool | None = None
    # The lesson's start, kept on the charge by the database for the balance indexes.
    lesson_start_time: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


# --- payments ----------------------------------------------------------------------------


class PaymentRecord(Input):
    """`record_payment`: the amount is computed by the database from the charges."""

    client_id: UUID
    participant_ids: Annotated[list[UUID], Field(min_length=1, max_length=1000)]
    method: PaymentMethod
    note: OptionalNote = None

    @field_validator("participant_ids")
    @classmethod
    def _distinct_charges(cls, ids: list[UUID]) -> list[UUID]:
        if len(set(ids)) != len(ids):
            raise ValueError("must not name the same charge twice")
        return ids


class Payment(Result):
    id: UUID
    coach_id: UUID
    client_id: UUID
    amount_cents: int
    currency: str | None = None
    method: PaymentMethod
    status: PaymentState
    stripe_checkout_session_id: str | None = None
    stripe_payment_intent_id: str | None = None
    credit_cents: int = 0
    refunded_cents: int = 0
    note: str | None = None
    paid_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class CheckoutCreate(Input):
    """A Stripe Checkout for a client's charges: every payable unpaid one when none are named."""

    client_id: UUID
    participant_ids: list[UUID] | None = Field(default=None, min_length=1, max_length=100)

    @field_validator("participant_ids")
    @classmethod
    def _distinct_charges(cls, ids: list[UUID] | None) -> list[UUID] | None:
        if ids is not None and len(set(ids)) != len(ids):
            raise ValueError("must not name the same charge twice")
        return ids


class Checkout(Result):
    """Where to send the client to pay, and until when that page is open."""

    payment_id: UUID
    checkout_url: str
    expires_at: datetime


# --- pages -------------------------------------------------------------------------------

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
ItemT = TypeVar("ItemT")


class Page(BaseModel, Generic[ItemT]):
    """One page of a list, in a stable order; `next_cursor` fetches the next one (None: the end)."""

    model_config = ConfigDict(frozen=True)

    items: list[ItemT]
    next_cursor: str | None = None


# --- reads -------------------------------------------------------------------------------


class ClientBalance(Result):
    client_id: UUID
    coach_id: UUID
    first_name: str
    last_name: str | None = None
    unpaid_cents: int
    unpaid_lessons: int
    oldest_unpaid_at: datetime | None = None
    last_lesson_at: datetime | None = None


class CoachDashboard(Result):
    coach_id: UUID
    active_clients: int
    outstanding_cents: int
    clients_with_balance: int
    lessons_next_7_days: int
    revenue_30_days_cents: int


class LessonHistoryEntry(Result):
    lesson_id: UUID
    participant_id: UUID
    coach_id: UUID
    client_id: UUID
    client_name: str | None = None
    lesson_type_name: str | None = None
    title: str | None = None
    start_time: datetime
    end_time: datetime
    status: LessonStatus
    price_cents: int
    payment_status: PaymentStatus


class CalendarRange(Input):
    """The lessons that overlap [start, end): what a calendar shows for that window."""

    start: Moment
    end: Moment
    include_cancelled: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if (self.end - self.start).days > 366:
            raise ValueError("a calendar window is at most one year")
        return self


# Each table or view the Python layer reads, and the model that reads its rows.
RELATION_MODELS: dict[str, type[BaseModel]] = {
    "coaches": Coach,
    "clients": Client,
    "lesson_types": LessonType,
    "lessons": Lesson,
    "lesson_participants": LessonParticipant,
    "payments": Payment,
    "client_balances": ClientBalance,
    "coach_dashboard": CoachDashboard,
    "lesson_history": LessonHistoryEntry,
}


def as_params(model: BaseModel, *, prefix: str = "p_", only_set: bool = False) -> dict[str, Any]:
    """The model as JSON-ready RPC parameters (`p_<field>`), identical for both gateways."""
    data = model.model_dump(mode="json", exclude_unset=only_set)
    return {f"{prefix}{name}": value for name, value in data.items()}
