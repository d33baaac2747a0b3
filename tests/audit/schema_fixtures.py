"""Four schemas written the way other Supabase apps are, each with planted holes and near-misses.

Each file in tests/audit/schemas/ is applied onto a Supabase-like database
(supabase/bootstrap.sql, then the grants a new Supabase project has, then the
schema), so the audit meets what it meets in another team's CI. Each has a
configuration in the shape docs/audit.md documents (`<name>.toml`) and the
findings it must get, with and without it (`<name>.expected.txt`).
"""

from __future__ import annotations

from pathlib import Path

from backend.audit.config import AuditConfig, load_config
from backend.audit.runner import AuditResult, run_audit
from backend.db.connect import connect
from backend.db.project import find_project

SCHEMAS_DIR = Path(__file__).parent / "schemas"
SCHEMAS = ("team_accounts", "subscriptions", "chat", "organizations")


def apply_schema(url: str, name: str) -> None:
    """The Supabase bootstrap, Supabase's default grants, then the schema `name`."""
    files = [
        find_project().bootstrap_file,
        SCHEMAS_DIR / "supabase_defaults.sql",
        SCHEMAS_DIR / f"{name}.sql",
    ]
    with connect(url) as conn:
        for path in files:
            conn.execute(path.read_text(encoding="utf-8"))  # type: ignore[arg-type]
        conn.commit()


def documented_config(name: str) -> AuditConfig:
    return load_config(SCHEMAS_DIR / f"{name}.toml")


def audit_schema(url: str, config: AuditConfig | None) -> AuditResult:
    return run_audit(url, config or AuditConfig())


def verdict(result: AuditResult) -> list[str]:
    """One line per finding: level, rule, object; sorted, as the expected files hold them."""
    return sorted(f"{f.level.label} {f.rule} {f.object}" for f in result.findings)


def expected(name: str, configured: bool) -> list[str]:
    """The `[no config]` or `[config]` section of `<name>.expected.txt`."""
    wanted = "[config]" if configured else "[no config]"
    lines: list[str] = []
    section = None
    for raw in (SCHEMAS_DIR / f"{name}.expected.txt").read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            section = line
        elif section == wanted:
            lines.append(line)
    return sorted(lines)
