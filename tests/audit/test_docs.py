"""docs/audit.md documents every rule: why it matters, how to fix it, how to suppress it."""

from __future__ import annotations

import re

import pytest

from backend.audit.registry import ALL_RULES
from backend.db.project import find_project

DOC = (find_project().root / "docs" / "audit.md").read_text()


def _section(rule_id: str) -> str:
    match = re.search(rf"^### `{rule_id}`\n(.*?)(?=^### |^## |\Z)", DOC, re.S | re.M)
    return match.group(1) if match else ""


@pytest.mark.parametrize("rule", [r.id for r in ALL_RULES])
def test_every_rule_is_documented(rule):
    section = _section(rule)
    assert "*Why it matters.*" in section
    assert "*How to fix.*" in section
    assert "*How to suppress.*" in section


def test_every_documented_rule_exists():
    documented = set(re.findall(r"^### `([a-z0-9_]+)`", DOC, re.M))
    assert documented == {r.id for r in ALL_RULES}
