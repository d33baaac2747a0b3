"""The error hierarchy every caller catches: one place, imported by all layers."""

from __future__ import annotations


class BackendError(Exception):
    """Base of every error this package raises on purpose."""

    key: str = "backend_error"
    retryable: bool = False

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if key is not None:
            self.key = key


class ValidationError(BackendError):
    key = "validation_failed"

    def __init__(
        self, message: str, *, key: str | None = None, fields: dict[str, str] | None = None
    ) -> None:
        super().__init__(message, key=key)
        self.fields = fields or {}


class NotFound(BackendError):
    key = "not_found"


class Forbidden(BackendError):
    key = "forbidden"


class Conflict(BackendError):
    key = "conflict"


class DoubleBooking(Conflict):
    key = "lesson_overlap"


class CapacityExceeded(Conflict):
    key = "capacity_exceeded"


class AlreadyPaid(Conflict):
    key = "already_paid"


class RateLimited(BackendError):
    key = "rate_limited"

    def __init__(self, message: str, *, retry_after: float, key: str | None = None) -> None:
        super().__init__(message, key=key)
        self.retry_after = retry_after


class Unavailable(BackendError):
    key = "unavailable"
    retryable = True
