"""Helpers for the audit's tests: the project's audit.toml with extra entries, one audit run."""

from __future__ import annotations

import os
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from backend.audit.config import AuditConfig, load_config
from backend.audit.runner import AuditResult, dynamic_phase, run_audit, static_phase, summarize
from backend.db.connect import connect
from backend.db.project import find_project
from backend.testing.database import DatabaseServer
from tests.audit.schema_fixtures import SCHEMAS, apply_schema

PROJECT_CONFIG = find_project().root / "audit.toml"


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        elif isinstance(value, list) and isinstance(merged.get(key), list):
            merged[key] = merged[key] + value
        else:
            merged[key] = value
    return merged


def _toml(data: dict[str, Any], prefix: str = "") -> str:
    """Just enough TOML writing for audit.toml's shapes."""
    lines: list[str] = []
    tables: list[str] = []
    for key, value in data.items():
        if isinstance(value, dict) and prefix != "tables":
            tables.append(key)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for item in value:
                lines.append(f"[[{key}]]")
                lines += [f"{k} = {_value(v)}" for k, v in item.items()]
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    for key in tables:
        name = f"{prefix}.{key}" if prefix else key
        lines.append(f"[{name}]")
        lines.append(_toml(data[key], name))
    return "\n".join(lines) + "\n"


def _key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else f'"{key}"'


def _value(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


@pytest.fixture
def config_with(tmp_path: Path):
    """The project's audit.toml plus `extra` TOML text, written to a file and loaded."""

    def make(extra: str = "") -> AuditConfig:
        base = tomllib.loads(PROJECT_CONFIG.read_text())
        merged = _merge(base, tomllib.loads(extra))
        path = tmp_path / "audit.toml"
        path.write_text(_toml(merged))
        return load_config(path)

    return make


def audit(
    url: str, config: AuditConfig, *, dynamic: bool = False, focus: list[str] | None = None
) -> AuditResult:
    """The audit; with `focus`, the dynamic proof probes only those objects (faster tests)."""
    return run_audit(url, config, dynamic=dynamic, focus=focus)


def reported(result: AuditResult, rule: str) -> list[str]:
    """The objects `rule` was reported on."""
    return [f.object for f in result.findings if f.rule == rule]


@pytest.fixture(scope="session")
def audit_database(backend_server: DatabaseServer, migrated_template: str) -> Iterator[str]:
    """One migrated database per test worker, never committed to by the planted tests."""
    name = f"backend_audit_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:8]}"
    url = backend_server.create_database(name, template=migrated_template)
    yield url
    backend_server.drop_database(name)


@pytest.fixture
def planted(audit_database: str) -> Iterator[psycopg.Connection[Any]]:
    """A superuser connection in a transaction that is rolled back after the test.

    DDL is transactional in PostgreSQL: a test plants its hole with
    `planted.execute(sql)` and audits it with `audit_planted`, and the next
    test finds the schema clean again, without copying a database.
    """
    with connect(audit_database) as conn:
        conn.execute("select 1")
        try:
            yield conn
        finally:
            conn.rollback()


def audit_planted(
    conn: psycopg.Connection[Any],
    config: AuditConfig,
    *,
    dynamic: bool = False,
    focus: list[str] | None = None,
) -> AuditResult:
    """The audit, on the planted connection, inside its transaction."""
    catalog, findings = static_phase(conn, config)
    proof = dynamic_phase(conn, catalog, focus=focus) if dynamic else None
    if proof is not None:
        findings.extend(proof.findings)
    return summarize("planted", findings, proof, config, 0.0)


@pytest.fixture(scope="session")
def schema_databases(backend_server: DatabaseServer) -> Iterator[dict[str, str]]:
    """One database per fixture schema for this test worker: {schema: url}."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    names = {s: f"audit_schema_{s}_{worker}_{uuid.uuid4().hex[:6]}" for s in SCHEMAS}
    urls = {}
    for schema, db in names.items():
        urls[schema] = backend_server.create_database(db)
        apply_schema(urls[schema], schema)
    yield urls
    for db in names.values():
        backend_server.drop_database(db)
