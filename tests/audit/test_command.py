"""`backend audit` on the command line: exit codes 0/1/2, formats, output file, threshold."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

import pytest

from backend.cli import main
from tests.audit.plants import PLANTS


def run(*args: str) -> int:
    with pytest.raises(SystemExit) as exit_:
        main(["audit", *args])
    return int(exit_.value.code or 0)


def test_audit_exits_0_on_the_project_schema(pg, capsys):
    assert run("--db-url", pg.url) == 0
    assert "0 finding(s)" in capsys.readouterr().out


def test_audit_exits_1_on_a_finding_at_warning_or_above(pg):
    pg.admin.execute(PLANTS["rls_disabled_in_public"].sql)
    assert run("--db-url", pg.url, "--static-only") == 1


def test_audit_fail_on_error_ignores_warnings(pg):
    pg.admin.execute(PLANTS["function_search_path_mutable"].sql)  # a warning
    assert run("--db-url", pg.url, "--no-dynamic", "--fail-on", "error") == 0
    assert run("--db-url", pg.url, "--no-dynamic", "--fail-on", "warning") == 1


def test_audit_exits_2_when_the_database_is_unreachable(capsys):
    assert run("--db-url", "postgresql://nobody@127.0.0.1:1/none") == 2
    assert "could not run" in capsys.readouterr().err


def test_audit_exits_2_on_a_malformed_config(pg, tmp_path):
    bad = tmp_path / "audit.toml"
    bad.write_text('[tables]\nclients = "shared"\n')
    assert run("--db-url", pg.url, "--config", str(bad)) == 2


def test_audit_exits_2_on_a_missing_config(pg, tmp_path):
    assert run("--db-url", pg.url, "--config", str(tmp_path / "missing.toml")) == 2


def test_json_report_lists_uniform_findings(pg, tmp_path):
    pg.admin.execute(PLANTS["rls_disabled_in_public"].sql)
    out = tmp_path / "report.json"
    assert run("--db-url", pg.url, "--static-only", "--format", "json", "--output", str(out)) == 1
    findings = json.loads(out.read_text())["findings"]
    assert {"rule", "level", "category", "object", "message", "remediation"} <= set(findings[0])
    assert ("rls_disabled_in_public", "public.planted_open") in {
        (f["rule"], f["object"]) for f in findings
    }


def test_sarif_report_is_sarif_2_1_0(pg, tmp_path):
    pg.admin.execute(PLANTS["rls_disabled_in_public"].sql)
    out = tmp_path / "report.sarif"
    run("--db-url", pg.url, "--static-only", "--format", "sarif", "--output", str(out))
    doc = json.loads(out.read_text())
    assert doc["version"] == "2.1.0"
    run_ = doc["runs"][0]
    rule_ids = [r["id"] for r in run_["tool"]["driver"]["rules"]]
    result = next(r for r in run_["results"] if r["ruleId"] == "rls_disabled_in_public")
    assert rule_ids[result["ruleIndex"]] == "rls_disabled_in_public"
    assert result["level"] == "error"
    assert (
        result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "public.planted_open"
    )


def test_sarif_points_a_policy_finding_at_the_policy_file(pg, tmp_path):
    pg.admin.execute("alter table public.clients disable row level security")
    out = tmp_path / "report.sarif"
    run("--db-url", pg.url, "--static-only", "--format", "sarif", "--output", str(out))
    results = json.loads(out.read_text())["runs"][0]["results"]
    result = next(r for r in results if r["ruleId"] == "policy_exists_rls_disabled")
    location = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert location == "policies/clients.sql"


def test_junit_report_has_one_failing_testcase_per_finding(pg, tmp_path):
    pg.admin.execute(PLANTS["rls_disabled_in_public"].sql)
    out = tmp_path / "report.xml"
    run("--db-url", pg.url, "--static-only", "--format", "junit", "--output", str(out))
    suite = ET.parse(out).getroot().find("testsuite")
    assert suite is not None
    names = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert "public.planted_open" in names


def test_markdown_report_is_a_table(pg, capsys):
    pg.admin.execute(PLANTS["rls_disabled_in_public"].sql)
    run("--db-url", pg.url, "--static-only", "--format", "markdown")
    out = capsys.readouterr().out
    assert "| error | `rls_disabled_in_public` | `public.planted_open` |" in out


def test_suppression_with_reason_silences_a_finding(pg, tmp_path):
    pg.admin.execute(PLANTS["rls_disabled_in_public"].sql + PLANTS["no_primary_key"].sql)
    config = tmp_path / "audit.toml"
    config.write_text(
        "[tables]\n"
        'coaches = { kind = "per-user", owner = "id" }\n'
        'audit_log = "tenant-append-only"\nstripe_events = "service-only"\n'
        "[[suppress]]\n"
        'rule = "rls_disabled_in_public"\nobject = "public.planted_open"\n'
        'reason = "a planted table"\nexpires = 2999-01-01\n'
    )
    assert run("--db-url", pg.url, "--static-only", "--config", str(config)) == 0
