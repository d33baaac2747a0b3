"""Every rule the audit can report, static and dynamic, for docs, SARIF and tests."""

from __future__ import annotations

from backend.audit import suppress
from backend.audit.prover import rules as dynamic
from backend.audit.rules import STATIC_RULES
from backend.audit.rules.base import Rule

ALL_RULES: tuple[Rule, ...] = STATIC_RULES + dynamic.RULES + suppress.RULES


def rule(rule_id: str) -> Rule:
    return next(r for r in ALL_RULES if r.id == rule_id)
