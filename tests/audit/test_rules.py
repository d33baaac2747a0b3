"""Every rule, static or dynamic, sees the hole planted for it, by rule id and object name."""

from __future__ import annotations

import pytest

from backend.audit.registry import ALL_RULES
from tests.audit.conftest import audit_planted, reported
from tests.audit.plants import NOTES, PLANTS


def test_every_rule_has_a_plant():
    assert sorted(r.id for r in ALL_RULES) == sorted(PLANTS)


@pytest.mark.parametrize("rule", sorted(PLANTS))
def test_rule_reports_planted_hole(rule, planted, config_with):
    plant = PLANTS[rule]
    if plant.sql:
        planted.execute(plant.sql)
    focus = [plant.object.partition("(")[0]] if plant.dynamic else None
    result = audit_planted(planted, config_with(plant.config), dynamic=plant.dynamic, focus=focus)
    assert plant.object in reported(result, rule), [
        (f.rule, f.object, f.message) for f in result.findings
    ]


def test_clean_tenant_table_has_no_findings(planted, config_with):
    planted.execute(NOTES)
    result = audit_planted(planted, config_with(), dynamic=True, focus=["public.planted_notes"])
    about_notes = [(f.rule, f.message) for f in result.findings if "planted_notes" in f.object]
    assert about_notes == []


def test_auth_rls_initplan_reports_a_policy_that_wraps_one_call_and_not_another(
    planted, config_with
):
    planted.execute(
        NOTES + "drop policy planted_notes_update on public.planted_notes;"
        " create policy planted_notes_update on public.planted_notes for update to authenticated"
        " using (coach_id = (select auth.uid())) with check (coach_id = auth.uid());"
    )
    result = audit_planted(planted, config_with())
    assert "public.planted_notes.planted_notes_update" in reported(result, "auth_rls_initplan")


def test_isolation_leak_that_no_static_rule_sees_is_caught_by_the_proof(planted, config_with):
    planted.execute(PLANTS["isolation_leak"].sql)
    static = audit_planted(planted, config_with())
    assert [f for f in static.findings if "planted_notes" in f.object] == []
    proven = audit_planted(planted, config_with(), dynamic=True, focus=["public.planted_notes"])
    leaks = [f.message for f in proven.findings if f.rule == "isolation_leak"]
    assert any("coach A could read coach B's row on public.planted_notes" in m for m in leaks)


def test_fixture_overrides_let_the_proof_generate_rows(planted, config_with):
    planted.execute(PLANTS["isolation_fixture_failed"].sql)
    config = config_with("[fixtures.planted_notes]\ncode = \"'ABC'\"\n")
    result = audit_planted(planted, config, dynamic=True, focus=["public.planted_notes"])
    assert reported(result, "isolation_fixture_failed") == []


def test_undeclared_table_is_tenant_owned_when_it_has_coach_id(planted, config_with):
    planted.execute(NOTES)
    result = audit_planted(planted, config_with())
    assert "public.planted_notes" not in reported(result, "table_not_classified")


def test_level_override_from_audit_toml(planted, config_with):
    planted.execute(PLANTS["no_primary_key"].sql)
    result = audit_planted(planted, config_with('[levels]\nno_primary_key = "error"\n'))
    levels = {f.level.label for f in result.findings if f.rule == "no_primary_key"}
    assert levels == {"error"}


def test_rls_disabled_in_public_reports_a_partitioned_table(planted, config_with):
    planted.execute(
        "create table public.planted_parted (id uuid primary key, coach_id uuid not null)"
        " partition by hash (id);"
        " create table public.planted_parted_0 partition of public.planted_parted"
        " for values with (modulus 1, remainder 0);"
    )
    result = audit_planted(planted, config_with())
    assert "public.planted_parted" in reported(result, "rls_disabled_in_public")
