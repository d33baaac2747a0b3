"""The audit on four schemas written the way other Supabase apps are (tests/audit/schemas/).

It must run on each (never exit 2 for what a schema holds), with no
configuration and with the documented one, and give exactly the verdict in
`<schema>.expected.txt`: every planted hole an error naming the function and
what it changed, no near-miss at error or warning.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.cli import main
from tests.audit.schema_fixtures import (
    SCHEMAS,
    SCHEMAS_DIR,
    audit_schema,
    documented_config,
    expected,
    verdict,
)


def run(*args: str) -> int:
    with pytest.raises(SystemExit) as exit_:
        main(["audit", *args])
    return int(exit_.value.code or 0)


@pytest.mark.parametrize("schema", SCHEMAS)
def test_the_command_runs_on_every_schema_without_configuration(
    schema, schema_databases, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    code = run("--db-url", schema_databases[schema], "--fail-on", "never")
    err = capsys.readouterr().err
    assert code == 0, err
    assert "assuming the defaults" in err


@pytest.mark.parametrize("schema", SCHEMAS)
def test_the_command_runs_on_every_schema_with_its_documented_configuration(
    schema, schema_databases, capsys
):
    config = SCHEMAS_DIR / f"{schema}.toml"
    code = run("--db-url", schema_databases[schema], "--config", str(config))
    assert code == 1, capsys.readouterr().err  # every schema has planted holes


def test_configuration_is_never_found_in_a_parent_directory(
    schema_databases, tmp_path, monkeypatch, capsys
):
    (tmp_path / "audit.toml").write_text('[tables]\naccounts = "shared"\n')  # malformed
    below = tmp_path / "service"
    below.mkdir()
    monkeypatch.chdir(below)
    code = run("--db-url", schema_databases["chat"], "--static-only", "--fail-on", "never")
    assert code == 0
    assert f"no audit.toml in {below}" in capsys.readouterr().err


def test_configuration_in_the_working_directory_is_read(
    schema_databases, tmp_path, monkeypatch, capsys
):
    (tmp_path / "audit.toml").write_text('[tables]\naccounts = "shared"\n')  # malformed
    monkeypatch.chdir(tmp_path)
    assert run("--db-url", schema_databases["chat"], "--static-only") == 2
    assert "audit.toml" in capsys.readouterr().err


@pytest.mark.parametrize("schema", SCHEMAS)
@pytest.mark.parametrize("configured", [False, True], ids=["no-config", "config"])
def test_each_schema_gets_exactly_its_verdict(schema, configured, schema_databases):
    config = documented_config(schema) if configured else None
    got = verdict(audit_schema(schema_databases[schema], config))
    assert got == expected(schema, configured)


def test_every_expected_file_names_its_planted_holes():
    for schema in SCHEMAS:
        text = (SCHEMAS_DIR / f"{schema}.expected.txt").read_text()
        assert "[no config]" in text and "[config]" in text, schema
        assert Path(SCHEMAS_DIR / f"{schema}.toml").exists(), schema
