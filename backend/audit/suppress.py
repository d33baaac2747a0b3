"""Suppressions from audit.toml: each silences one rule on one object, with a reason."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from backend.audit.config import AuditConfig, Suppression
from backend.audit.findings import Finding, Level
from backend.audit.rules.base import Rule

SUPPRESSION_WITHOUT_REASON = Rule(
    id="suppression_without_reason",
    title="Suppression without a reason",
    level=Level.ERROR,
    category="configuration",
    description="A silenced finding nobody can explain is a hole nobody owns. A suppression "
    "without a reason, rule or object silences nothing and is reported instead.",
    remediation='Give the [[suppress]] entry a rule, an object and a reason = "…".',
)
SUPPRESSION_EXPIRED = Rule(
    id="suppression_expired",
    title="Suppression expired",
    level=Level.WARNING,
    category="configuration",
    description="A suppression past its expires date no longer silences its finding, and says "
    "so, so that temporary exceptions do not become permanent.",
    remediation="Fix the finding and remove the entry, or extend expires with a new reason.",
)
SUPPRESSION_UNUSED = Rule(
    id="suppression_unused",
    title="Suppression matches nothing",
    level=Level.INFO,
    category="configuration",
    description="A suppression that matches no finding is stale and would silently hide the "
    "problem if it ever came back.",
    remediation="Remove the entry from audit.toml.",
)
RULES = (SUPPRESSION_WITHOUT_REASON, SUPPRESSION_EXPIRED, SUPPRESSION_UNUSED)


@dataclass(frozen=True)
class Suppressed:
    finding: Finding
    by: Suppression


def _name(index: int, s: Suppression) -> str:
    return f"audit.toml [[suppress]] #{index + 1} ({s.rule or '?'} on {s.object or '?'})"


def apply_suppressions(
    findings: Iterable[Finding], config: AuditConfig, today: dt.date | None = None
) -> tuple[list[Finding], list[Suppressed]]:
    """The findings left (the suppressions' own included) and the ones silenced."""
    today = today or dt.datetime.now(dt.UTC).date()
    valid: list[tuple[int, Suppression]] = []
    own: list[Finding] = []
    for index, s in enumerate(config.suppressions):
        name = _name(index, s)
        if not (s.reason and s.rule and s.object):
            missing = [
                k
                for k, v in (("reason", s.reason), ("rule", s.rule), ("object", s.object))
                if not v
            ]
            own.append(
                SUPPRESSION_WITHOUT_REASON.finding(name, f"{name} has no {', '.join(missing)}")
            )
        elif s.expires is not None and s.expires < today:
            own.append(SUPPRESSION_EXPIRED.finding(name, f"{name} expired on {s.expires}"))
        else:
            valid.append((index, s))
    kept: list[Finding] = []
    silenced: list[Suppressed] = []
    used: set[int] = set()
    for f in findings:
        match = next(((i, s) for i, s in valid if s.matches(f.rule, f.object)), None)
        if match is None:
            kept.append(f)
        else:
            used.add(match[0])
            silenced.append(Suppressed(f, match[1]))
    for index, s in valid:
        if index not in used:
            name = _name(index, s)
            own.append(SUPPRESSION_UNUSED.finding(name, f"{name} matches no finding"))
    return kept + own, silenced
