"""The figures docs/audit.md gives about the audit are the code's: rules, probes, functions."""

from __future__ import annotations

import re

from backend.audit.config import load_config
from backend.audit.rules import STATIC_RULES
from backend.audit.runner import run_audit
from backend.db.project import find_project

ROOT = find_project().root
DOC = (ROOT / "docs" / "audit.md").read_text()
FIGURES = re.search(
    r"\((\d+) static rules, about (\d+)\s+probes, (\d+) RPC functions\)", DOC.replace("\n", " ")
)


def test_the_documented_figures_are_there():
    assert FIGURES, "docs/audit.md lost its sentence of figures"


def test_the_number_of_static_rules_is_the_registrys():
    assert FIGURES and int(FIGURES[1]) == len(STATIC_RULES)


def test_the_number_of_coach_functions_is_the_catalogs(pg):
    callable_by_coaches = pg.admin.execute(
        "select count(*) from pg_catalog.pg_proc"
        " where pronamespace = 'public'::regnamespace"
        " and has_function_privilege('authenticated', oid, 'execute')"
    ).fetchone()[0]

    assert FIGURES and int(FIGURES[3]) == callable_by_coaches


def test_the_number_of_probes_is_about_what_the_proof_runs(pg):
    result = run_audit(pg.url, load_config(ROOT / "audit.toml"))

    documented = int(FIGURES[2]) if FIGURES else 0
    assert abs(result.probes - documented) <= documented // 10, result.probes
