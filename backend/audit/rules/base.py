"""A rule: one small unit that looks at the catalog and returns uniform findings.

Most rules are one SQL query returning `(object, message)` rows, like a lint of
Supabase's splinter; the few that need the configuration file are a Python
function returning the same pairs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import psycopg

from backend.audit.catalog import Catalog
from backend.audit.findings import Finding, Level

Check = Callable[[Catalog], Iterable[tuple[str, str]]]


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    level: Level
    category: str
    description: str
    remediation: str
    sql: str | None = None
    check: Check | None = None
    splinter: str | None = None

    def run(self, conn: psycopg.Connection[Any], catalog: Catalog) -> list[Finding]:
        if self.sql is not None:
            rows: Iterable[tuple[str, str]] = conn.execute(self.sql, catalog.params()).fetchall()
        elif self.check is not None:
            rows = self.check(catalog)
        else:  # pragma: no cover - a rule is declared with one of the two
            raise TypeError(f"rule {self.id} has neither sql nor check")
        level = catalog.config.levels.get(self.id, self.level)
        return [self.finding(str(obj), str(msg), level) for obj, msg in rows]

    def finding(self, obj: str, message: str, level: Level | None = None) -> Finding:
        meta = {"splinter": self.splinter} if self.splinter else {}
        return Finding(
            self.id, level or self.level, self.category, obj, message, self.remediation, meta
        )
