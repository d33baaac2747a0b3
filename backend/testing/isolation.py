"""The isolation matrix as a pytest helper, for this project's tests and any other project's.

    from backend.testing.isolation import assert_isolated

    def test_coaches_are_isolated(pg):
        assert_isolated(pg.url)

Runs the audit's dynamic proof (every exposed table and view, every principal,
every command, every RPC function) against the database at `url`, inside one
transaction that is rolled back, and fails with every finding listed.
"""

from __future__ import annotations

from pathlib import Path

from backend.audit.catalog import read_catalog
from backend.audit.config import AuditConfig, load_config
from backend.audit.prover import Proof, prove_isolation
from backend.db.connect import connect
from backend.db.project import find_project


def isolation_proof(url: str, config: AuditConfig | Path | None = None) -> Proof:
    """The dynamic proof's result for the database at `url` (config: the project's audit.toml)."""
    if not isinstance(config, AuditConfig):
        config = load_config(config or find_project().root / "audit.toml")
    with connect(url) as conn:
        with conn.transaction(force_rollback=True):
            catalog = read_catalog(conn, config)
        return prove_isolation(conn, catalog)


def assert_isolated(url: str, config: AuditConfig | Path | None = None) -> Proof:
    """Fail (AssertionError) when any cell of the isolation matrix does not hold."""
    proof = isolation_proof(url, config)
    if proof.findings:
        lines = [f"{f.rule} {f.object}: {f.message}" for f in proof.findings]
        raise AssertionError(
            f"isolation does not hold ({len(lines)} finding(s), {proof.probes} probes):\n"
            + "\n".join(lines)
        )
    return proof
