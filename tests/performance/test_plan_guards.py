"""Plan guards: every page query a coach opens reads its tenant tables through indexes
and evaluates `auth.uid()` once (an InitPlan); the calendar reads only the week asked for.

The data is a small benchmark seed (a few coaches, months of history), so plans
are checked, never timings. Sequential scans are disabled while planning: on
tables this small the planner may rightly prefer one, and what must be true is
that an index path exists, so that the planner takes it at scale.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from backend.bench.pages import PAGE_QUERIES, PageQuery
from backend.bench.run import SeededCoach
from backend.bench.seed import seed_coaches
from backend.db.impersonation import Principal, impersonate
from backend.testing import TestDatabase
from backend.testing.database import DatabaseServer

TENANT_TABLES = {
    "coaches",
    "clients",
    "lesson_types",
    "recurring_lessons",
    "lessons",
    "lesson_participants",
    "payments",
    "audit_log",
}
CONDITIONS = ("Filter", "Index Cond", "Recheck Cond", "Join Filter", "Hash Cond", "Merge Cond")
COACH = SeededCoach(1)


@pytest.fixture(scope="module")
def seeded(backend_server: DatabaseServer, migrated_template: str) -> Iterator[TestDatabase]:
    name = f"backend_plans_{uuid.uuid4().hex[:10]}"
    db = TestDatabase(backend_server.create_database(name, template=migrated_template))
    seed_coaches(db.admin, 4, years=2)
    yield db
    db.close()
    backend_server.drop_database(name)


def explain(db: TestDatabase, sql: str, *options: str, index_only: bool = True) -> dict[str, Any]:
    """The plan of `sql` as the coach, by default with sequential scans disabled."""
    with psycopg.connect(db.url) as conn, conn.transaction(force_rollback=True):
        impersonate(conn, Principal.user(COACH.id), method="GET")
        if index_only:
            conn.execute("set local enable_seqscan = off")
        text = ", ".join(("format json", *options))
        row = conn.execute(f"explain ({text}) {sql}").fetchone()
        assert row is not None
        plan = row[0] if isinstance(row[0], list) else json.loads(row[0])
        return dict(plan[0])


def nodes(
    plan: dict[str, Any], *, in_init_plan: bool = False
) -> Iterator[tuple[dict[str, Any], bool]]:
    """Every plan node, with whether it sits under an InitPlan."""
    inside = in_init_plan or plan.get("Parent Relationship") == "InitPlan"
    yield plan, inside
    for child in plan.get("Plans", []):
        yield from nodes(child, in_init_plan=inside)


def names_caller(text: str) -> bool:
    """`auth.uid()`, or its body where the planner inlined it."""
    return "auth.uid()" in text or "request.jwt.claim" in text


def mentions_caller(node: dict[str, Any]) -> bool:
    return names_caller(" ".join(str(node.get(key, "")) for key in CONDITIONS))


@pytest.mark.parametrize("query", PAGE_QUERIES, ids=lambda q: q.name)
def test_page_query_reads_no_tenant_table_sequentially(
    seeded: TestDatabase, query: PageQuery
) -> None:
    plan = explain(seeded, query.as_coach)["Plan"]
    scanned = [
        (node["Node Type"], node["Relation Name"])
        for node, _ in nodes(plan)
        if node.get("Relation Name") in TENANT_TABLES
    ]
    assert scanned, "the query reads no tenant table"
    sequential = [relation for kind, relation in scanned if kind == "Seq Scan"]
    assert not sequential, f"{query.name} scans {sequential} sequentially"


@pytest.mark.parametrize("query", PAGE_QUERIES, ids=lambda q: q.name)
def test_page_query_evaluates_the_caller_once(seeded: TestDatabase, query: PageQuery) -> None:
    plan = explain(seeded, query.as_coach, "verbose")["Plan"]
    per_row = [
        node["Node Type"] for node, inside in nodes(plan) if not inside and mentions_caller(node)
    ]
    assert not per_row, f"{query.name} evaluates auth.uid() per row in {per_row}"
    init_plans = [
        node
        for node, _ in nodes(plan)
        if node.get("Parent Relationship") == "InitPlan" and names_caller(json.dumps(node))
    ]
    assert init_plans, f"{query.name} has no InitPlan for auth.uid()"


def test_calendar_reads_the_coachs_week_through_its_index(seeded: TestDatabase) -> None:
    calendar = next(q for q in PAGE_QUERIES if q.name == "calendar_next_7_days")
    plan = explain(seeded, calendar.as_coach)["Plan"]
    lessons = [node for node, _ in nodes(plan) if node.get("Relation Name") == "lessons"]
    assert [node.get("Index Name") for node in lessons] == ["lessons_coach_start_time_idx"]
    assert "start_time" in lessons[0]["Index Cond"]
