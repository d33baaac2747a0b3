"""The policy audit: static rules over the catalog and a dynamic proof of tenant isolation.

Layout: `rules/` (one small unit per rule, uniform findings), `prover/` (the
isolation matrix and RPC attacks, run by impersonation and rolled back),
`suppress` and `config` (audit.toml), `report` (text, JSON, JUnit, Markdown,
SARIF), `runner` (puts them together) and `command` (`backend audit`).
"""

from __future__ import annotations

from backend.audit.config import AuditConfig, AuditConfigError, load_config
from backend.audit.findings import Finding, Level
from backend.audit.runner import AuditError, AuditResult, run_audit

__all__ = [
    "AuditConfig",
    "AuditConfigError",
    "AuditError",
    "AuditResult",
    "Finding",
    "Level",
    "load_config",
    "run_audit",
]
