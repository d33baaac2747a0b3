"""Helpers shared by the service tests (plain functions, not fixtures)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def hours_from_now(hours: float) -> datetime:
    """A whole-minute time `hours` from now, in UTC."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    return now + timedelta(hours=hours)
