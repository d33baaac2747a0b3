"""`backend audit`: registered on the command line by `register()`.

Exit codes: 0 nothing at or above the threshold, 1 findings at or above it,
2 the audit could not run (bad configuration, unreachable database, a database without
Supabase's roles, …); never for what the schema holds: a probe that can not be built is a
finding (`isolation_unproven`).
"""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from backend.audit.config import (
    CONFIG_NAME,
    AuditConfig,
    AuditConfigError,
    describe_defaults,
    load_config,
)
from backend.audit.findings import Level
from backend.audit.report import REPORTERS
from backend.audit.runner import AuditError, run_audit
from backend.config import ConfigError, get_settings
from backend.db.connect import DatabaseUnavailable, require_session
from backend.db.embedded import EmbeddedUnavailable, start_embedded
from backend.db.project import find_project
from backend.db.ready import NotMigrated, require_migrated

EXIT_CLEAN, EXIT_FINDINGS, EXIT_BROKEN = 0, 1, 2

err = Console(stderr=True, highlight=False)


class Format(enum.StrEnum):
    text = "text"
    json = "json"
    junit = "junit"
    markdown = "markdown"
    sarif = "sarif"


class FailOn(enum.StrEnum):
    info = "info"
    warning = "warning"
    error = "error"
    never = "never"


def _database_url(db_url: str | None) -> str:
    """--db-url, then DATABASE_URL, then this project's embedded PostgreSQL (started if needed).

    Any database with Supabase's roles and `auth.users` is audited as it is; only the
    embedded one must carry this project's migrations (it exists for this project alone).
    """
    url = db_url or get_settings().database_url
    if url:
        return url
    server = start_embedded(find_project())
    err.print(f"embedded PostgreSQL ready in {server.started_in_seconds:.2f}s ({server.data_dir})")
    embedded = server.url("postgres")
    require_migrated(embedded)
    return embedded


def _config(path: Path | None) -> AuditConfig:
    """--config, else ./audit.toml in the working directory (never a parent's), else defaults."""
    if path is not None:
        if not path.exists():
            raise AuditConfigError(f"{path}: no such file")
        return load_config(path)
    found = Path.cwd() / CONFIG_NAME
    if found.exists():
        return load_config(found)
    err.print(
        f"no {CONFIG_NAME} in {Path.cwd()}: assuming the defaults: {describe_defaults()}",
        markup=False,
        soft_wrap=True,
    )
    return AuditConfig()


def audit(
    db_url: Annotated[
        str | None,
        typer.Option(
            "--db-url", help="PostgreSQL URL (default: DATABASE_URL, else the embedded one)."
        ),
    ] = None,
    output_format: Annotated[Format, typer.Option("--format", help="Report format.")] = Format.text,
    output: Annotated[
        Path | None, typer.Option("--output", help="Write the report to FILE instead of stdout.")
    ] = None,
    fail_on: Annotated[
        FailOn, typer.Option("--fail-on", help="Exit 1 when a finding is at this level or above.")
    ] = FailOn.warning,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="Tenancy and suppressions (default: audit.toml in the working directory).",
        ),
    ] = None,
    static_only: Annotated[
        bool, typer.Option("--static-only", help="Skip the dynamic proof.")
    ] = False,
    dynamic: Annotated[
        bool, typer.Option("--dynamic/--no-dynamic", help="Run the dynamic isolation proof.")
    ] = True,
) -> None:
    """The policy audit: static rules over the catalog and a dynamic proof by impersonation."""
    try:
        settings = _config(config)
        url = _database_url(db_url)
        require_session(url, "backend audit", get_settings().database_pool_mode)
        result = run_audit(
            url,
            settings,
            dynamic=dynamic and not static_only,
            progress=lambda line: err.print(line, markup=False, soft_wrap=True),
        )
        report = REPORTERS[output_format.value](result)
        if output is not None:
            output.write_text(report, encoding="utf-8")
            err.print(f"wrote {output_format.value} report to {output}")
        else:
            typer.echo(report, nl=False)
    except (
        AuditError,
        AuditConfigError,
        ConfigError,
        DatabaseUnavailable,
        EmbeddedUnavailable,
        NotMigrated,
        OSError,
    ) as exc:
        err.print(f"error: audit could not run: {exc}", markup=False, soft_wrap=True)
        sys.exit(EXIT_BROKEN)
    except Exception as exc:  # noqa: BLE001 - a crash is "could not run" (2), never "found" (1)
        err.print(
            f"error: audit could not run: internal error {type(exc).__name__}: {exc}",
            markup=False,
            soft_wrap=True,
        )
        sys.exit(EXIT_BROKEN)
    threshold = None if fail_on is FailOn.never else Level.parse(fail_on.value)
    worst = result.worst()
    err.print(
        f"audit {'failed' if result.failed(threshold) else 'passed'}: "
        f"{len(result.findings)} finding(s), worst {worst.label if worst else 'none'}, "
        f"{result.probes} probes in {result.seconds:.1f}s"
    )
    # sys.exit, not typer.Exit: the entry point runs click with standalone_mode=False,
    # which turns typer.Exit into a return value and loses the code.
    sys.exit(EXIT_FINDINGS if result.failed(threshold) else EXIT_CLEAN)


def register(app: typer.Typer) -> None:
    """Add the `audit` command to the `backend` command line."""
    app.command("audit")(audit)
