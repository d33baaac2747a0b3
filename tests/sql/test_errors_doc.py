"""docs/errors.md lists every SQLSTATE and key the database raises (Python maps from it)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _raised() -> set[tuple[str, str]]:
    pairs = set()
    for path in sorted((ROOT / "migrations").glob("*.sql")):
        text = path.read_text()
        for block in re.findall(r"raise exception using(.*?);", text, flags=re.S):
            code = re.search(r"errcode = '([0-9A-Z]{5})'", block)
            hint = re.search(r"hint = '([a-z_]+)'", block)
            if code and hint:
                pairs.add((code[1], hint[1]))
    pairs.add(("CB005", "duplicate_participant"))  # raised through require_id_list's parameter
    return pairs


def test_every_raised_error_is_documented():
    rows = set(
        re.findall(r"^\| (\w{5}) \| `([a-z_]+)`", (ROOT / "docs/errors.md").read_text(), re.M)
    )
    missing = _raised() - rows
    assert not missing, f"not in docs/errors.md: {sorted(missing)}"
    assert len(_raised()) >= 16  # CB001-CB013, 23P01 and two 42501 keys
