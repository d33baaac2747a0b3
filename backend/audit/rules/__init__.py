"""The static rules: splinter's lints that apply to a database, then the tenancy rules."""

from __future__ import annotations

from backend.audit.rules import splinter, tenancy
from backend.audit.rules.base import Rule

STATIC_RULES: tuple[Rule, ...] = splinter.RULES + tenancy.RULES

__all__ = ["STATIC_RULES", "Rule"]
