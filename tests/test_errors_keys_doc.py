"""docs/errors.md lists every key the Python layer raises, with its exception class and status."""

from __future__ import annotations

import re
from pathlib import Path

import backend.errors as errors

ROOT = Path(__file__).resolve().parents[1]
# key="…", key = "…" (a class's key), key: str = "…" (a default), the key argument
# of auth's `_refuse(message, "…")`.
RAISED = re.compile(
    r'\bkey\s*(?::\s*str\s*)?=\s*(?:str\([^"]*or\s+)?"([a-z_]+)"'
    r'|_refuse\((?:[^()]|\([^()]*\))*?,\s*"([a-z_]+)",?\s*\)'
)
# `_classify`'s ("…", SomeError) pairs, kept when SomeError is an error class.
PAIR = re.compile(r'"([a-z_]+)", ([A-Z]\w+)\b')


def _is_error_class(name: str) -> bool:
    cls = getattr(errors, name, None)
    return isinstance(cls, type) and issubclass(cls, errors.BackendError)


def _raised_keys() -> set[str]:
    keys: set[str] = set()
    for path in sorted((ROOT / "backend").rglob("*.py")):
        if "audit" in path.parts:
            continue  # the audit's finding names are rules, not errors (docs/audit.md)
        text = path.read_text()
        for match in RAISED.finditer(text):
            keys.add(next(group for group in match.groups() if group))
        keys.update(key for key, name in PAIR.findall(text) if _is_error_class(name))
    for table in (
        errors.BUSINESS_ERRORS,
        errors.NATIVE_ERRORS,
        errors.NATIVE_CLASSES,
        errors.POSTGREST_ERRORS,
    ):
        keys.update(key for key, _ in table.values())
    return keys | set(errors.NATIVE_KEYS)


def _documented() -> dict[str, tuple[str, int]]:
    section = (ROOT / "docs" / "errors.md").read_text().split("## Keys of the Python layer", 1)[1]
    rows: dict[str, tuple[str, int]] = {}
    for keys, cls, status in re.findall(
        r"^\| (`.+?`) \| `(\w+)[^`]*` \| (\d{3}) \|", section, re.M
    ):
        for key in re.findall(r"`([a-z_]+)`", keys):
            rows[key] = (cls, int(status))
    return rows


def test_every_raised_key_is_documented():
    missing = _raised_keys() - set(_documented())

    assert not missing, f"keys missing from docs/errors.md: {sorted(missing)}"


def test_every_documented_key_is_raised():
    stale = set(_documented()) - _raised_keys()

    assert not stale, f"docs/errors.md lists keys nothing raises: {sorted(stale)}"


def test_every_documented_class_and_status_is_the_codes():
    wrong = {}
    for key, (name, status) in _documented().items():
        cls = getattr(errors, name, None)
        if not _is_error_class(name):
            wrong[key] = f"{name} is not an error class"
        elif cls.http_status != status:
            wrong[key] = f"{name} answers {cls.http_status}, not {status}"

    assert wrong == {}


def test_a_key_mapped_from_the_database_is_documented_with_its_class():
    documented = _documented()
    tables = (errors.BUSINESS_ERRORS, errors.NATIVE_ERRORS, errors.POSTGREST_ERRORS)

    wrong = {
        key: (cls.__name__, documented[key][0])
        for table in tables
        for key, cls in table.values()
        if documented[key][0] != cls.__name__
    }
    assert wrong == {}
