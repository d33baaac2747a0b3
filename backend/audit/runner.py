"""Runs the audit: static rules over the catalog, then the dynamic proof, then suppressions.

The audited database is never changed: the static rules run in a read-only
transaction, the proof in one transaction that is always rolled back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import psycopg

from backend.audit.catalog import API_ROLES, Catalog, read_catalog
from backend.audit.config import AuditConfig
from backend.audit.findings import Finding, Level
from backend.audit.prover import Proof, ProofUnavailable, prove_isolation
from backend.audit.prover.nearmiss import lower
from backend.audit.rules import STATIC_RULES
from backend.audit.suppress import Suppressed, apply_suppressions
from backend.db.connect import connect, redact

Progress = Callable[[str], None]


class AuditError(Exception):
    """The audit could not run (not: it found something); the message is one line."""


@dataclass
class AuditResult:
    database: str
    findings: list[Finding]
    suppressed: list[Suppressed] = field(default_factory=list)
    rules: int = 0
    probes: int = 0
    matrix: list[tuple[str, str, str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def worst(self) -> Level | None:
        return max((f.level for f in self.findings), default=None)

    def failed(self, threshold: Level | None) -> bool:
        worst = self.worst()
        return threshold is not None and worst is not None and worst >= threshold


def _quiet(_: str) -> None:
    return None


def run_static(conn: psycopg.Connection[Any], catalog: Catalog) -> list[Finding]:
    findings: list[Finding] = []
    for rule in STATIC_RULES:
        try:
            findings.extend(rule.run(conn, catalog))
        except psycopg.Error as exc:
            raise AuditError(f"rule {rule.id} failed: {_first_line(exc)}") from None
    return findings


def _check_roles(conn: psycopg.Connection[Any]) -> None:
    present = {
        r[0]
        for r in conn.execute(
            "select rolname from pg_catalog.pg_roles where rolname = any(%s)", (list(API_ROLES),)
        )
    }
    missing = [r for r in API_ROLES if r not in present]
    if missing:
        raise AuditError(
            f"the database lacks the Supabase role(s) {', '.join(missing)}; "
            "run `backend db migrate`"
        )


def static_phase(
    conn: psycopg.Connection[Any], config: AuditConfig, progress: Progress = _quiet
) -> tuple[Catalog, list[Finding]]:
    """The catalog and the static rules' findings, in a savepoint of the caller's transaction."""
    with conn.transaction():
        # pg_get_expr qualifies names by the search_path: one fixed path, one spelling
        conn.execute("set local search_path = pg_catalog")
        conn.execute("set local statement_timeout = '60s'")
        _check_roles(conn)
        catalog = read_catalog(conn, config)
        progress(
            f"static: {len(STATIC_RULES)} rules over {len(catalog.tables)} tables and "
            f"{len(catalog.views)} views"
        )
        findings = run_static(conn, catalog)
    progress(f"static: {len(findings)} finding(s)")
    return catalog, findings


def dynamic_phase(
    conn: psycopg.Connection[Any],
    catalog: Catalog,
    progress: Progress = _quiet,
    focus: Collection[str] | None = None,
) -> Proof:
    try:
        return prove_isolation(conn, catalog, progress=progress, focus=focus)
    except ProofUnavailable as exc:
        raise AuditError(str(exc)) from None


def run_audit(
    url: str,
    config: AuditConfig,
    *,
    dynamic: bool = True,
    progress: Progress = _quiet,
    focus: Collection[str] | None = None,
) -> AuditResult:
    """Audit the database at `url`: read-only static rules, then the rolled-back proof."""
    began = time.perf_counter()
    with connect(url) as conn:
        try:
            with conn.transaction():
                conn.execute("set transaction read only")
                catalog, findings = static_phase(conn, config, progress)
            proof = dynamic_phase(conn, catalog, progress, focus) if dynamic else None
        except psycopg.Error as exc:
            raise AuditError(f"audit failed on {redact(url)}: {_first_line(exc)}") from None
    if proof is not None:
        findings.extend(proof.findings)
    return summarize(redact(url), findings, proof, config, time.perf_counter() - began)


def summarize(
    database: str,
    findings: list[Finding],
    proof: Proof | None,
    config: AuditConfig,
    seconds: float,
) -> AuditResult:
    """Lower the safe near-misses, apply the suppressions, put the findings in report order."""
    if proof is not None:
        findings = lower(findings, proof.cleared, proof.guarded)
    kept, silenced = apply_suppressions(findings, config)
    kept.sort(key=lambda f: (-f.level, f.rule, f.object))
    return AuditResult(
        database=database,
        findings=kept,
        suppressed=silenced,
        rules=len(STATIC_RULES),
        probes=proof.probes if proof else 0,
        matrix=proof.cells if proof else [],
        seconds=seconds,
    )


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
