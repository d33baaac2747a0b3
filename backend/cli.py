"""The `backend` command line."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from typer.exceptions import TyperException

from backend.api.command import register as register_serve
from backend.audit.command import register as register_audit
from backend.bench.command import register as register_bench
from backend.cli_options import DbUrl
from backend.coach_accounts import CoachAccountError, create_coach, dev_token
from backend.config import ConfigError, get_settings
from backend.db import bundle as bundle_mod
from backend.db import migrations, typegen
from backend.db.connect import (
    DatabaseUnavailable,
    check_url,
    connect,
    database_name,
    is_local,
    redact,
    with_database,
)
from backend.db.embedded import (
    EmbeddedUnavailable,
    embedded_socket,
    start_embedded,
    stop_embedded,
    tune_embedded,
)
from backend.db.lint import run_lint
from backend.db.project import Project, find_project
from backend.db.ready import NotMigrated, require_migrated
from backend.errors import BackendError
from backend.models import CoachCreate
from backend.payments.command import register as register_stripe
from backend.services.base import parse_input

app = typer.Typer(
    help="Coaching backend: migrations, TypeScript types, policy audit, seed data, coach accounts,"
    " the HTTP service and Stripe payments.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
db_app = typer.Typer(help="Migrations and SQL tooling.", no_args_is_help=True)
app.add_typer(db_app, name="db")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class CliError(Exception):
    """A failure to report as one line with a non-zero exit."""


def fail(message: str) -> NoReturn:
    raise CliError(message)


def _print_error(message: str, code: int) -> int:
    err.print(f"error: {message}", soft_wrap=True)
    return code


def resolve_url(db_url: str | None, project: Project) -> str:
    """--db-url, then DATABASE_URL, then the embedded PostgreSQL (started if needed)."""
    url = db_url or get_settings().database_url
    if url:
        check_url(url)
        return url
    server = start_embedded(project)
    err.print(f"embedded PostgreSQL ready in {server.started_in_seconds:.2f}s ({server.data_dir})")
    return server.url("postgres")


def resolve_bench_url(db_url: str | None, project: Project) -> str:
    """As `resolve_url`; the embedded server first gets the settings of a sized server.

    Any other server is measured as it is configured.
    """
    given = db_url or get_settings().database_url
    if not given or embedded_socket(given) == str(project.cache_dir / "postgres" / "default"):
        for change in tune_embedded(project):
            err.print(f"embedded PostgreSQL for benchmark data: {change}")
    return resolve_url(db_url, project)


def _print_plan(plan: migrations.Plan) -> None:
    table = Table(show_header=True, header_style="bold")
    table.add_column("kind")
    table.add_column("file")
    table.add_column("state")
    colours = {"applied": "green", "pending": "yellow", "changed": "red"}
    for e in plan.entries:
        colour = colours.get(e.state, "cyan")
        table.add_row(e.kind, e.file, f"[{colour}]{e.state}[/{colour}]")
    out.print(table)
    counts = {
        s: sum(1 for e in plan.entries if e.state == s) for s in ("applied", "pending", "changed")
    }
    out.print(
        f"{counts['applied']} applied, {counts['pending']} pending, {counts['changed']} changed"
    )


@db_app.command("migrate")
def db_migrate(
    db_url: DbUrl = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would run.")] = False,
    lock_timeout: Annotated[
        float,
        typer.Option(
            "--lock-timeout",
            envvar="MIGRATE_LOCK_TIMEOUT_SECONDS",
            min=0.001,
            help="Seconds to wait for another migrate on the same database.",
        ),
    ] = migrations.LOCK_TIMEOUT_SECONDS,
) -> None:
    """Apply the bootstrap, pending migrations, then changed functions, views and policies."""
    project = find_project()
    url = resolve_url(db_url, project)
    began = time.perf_counter()
    result = migrations.migrate(
        project,
        url,
        dry_run=dry_run,
        progress=lambda m: out.print(m),
        lock_timeout=lock_timeout,
        pool_mode=get_settings().database_pool_mode,
    )
    if dry_run:
        plan = result.plan
        todo = [e for e in plan.entries if e.state in ("pending", "changed")]
        if not todo and not plan.declarative:
            out.print("nothing to apply")
        for e in todo:
            out.print(f"would apply {e.file}")
        if plan.declarative and not any(e.kind in ("function", "view", "policy") for e in todo):
            out.print(f"would re-apply {len(plan.declarative)} function, view and policy files")
        return
    elapsed = time.perf_counter() - began
    if result.applied:
        out.print(f"applied {len(result.applied)} files in {elapsed:.2f}s to {redact(url)}")
    else:
        out.print(f"database is up to date ({redact(url)})")


@db_app.command("status")
def db_status(db_url: DbUrl = None) -> None:
    """Show applied, pending and changed files."""
    project = find_project()
    _print_plan(migrations.status(project, resolve_url(db_url, project)))


@db_app.command("reset")
def db_reset(
    db_url: DbUrl = None,
    force: Annotated[bool, typer.Option("--force", help="Allow a non-local database.")] = False,
) -> None:
    """Drop and rebuild the database, then migrate it."""
    project = find_project()
    url = resolve_url(db_url, project)
    if not is_local(url) and not force:
        fail(f"refusing to reset non-local database {redact(url)} without --force")
    name = database_name(url)
    maintenance = with_database(url, "template1" if name == "postgres" else "postgres")
    with connect(maintenance, autocommit=True) as conn:
        out.print(f"dropping and recreating database {name}")
        conn.execute(migrations.drop_database_sql(name))
        conn.execute(f'create database "{name}"'.encode())
    result = migrations.migrate(project, url, progress=lambda m: out.print(m))
    out.print(f"reset {name}: applied {len(result.applied)} files")


@db_app.command("bundle")
def db_bundle(
    check: Annotated[bool, typer.Option("--check", help="Fail when the bundle is stale.")] = False,
) -> None:
    """Write supabase/migrations/ for `supabase db push`."""
    project = find_project()
    if check:
        stale = bundle_mod.stale_files(project)
        if stale:
            fail(f"supabase/migrations is stale ({', '.join(stale)}); run `backend db bundle`")
        out.print("supabase/migrations is up to date")
        return
    written = bundle_mod.write_bundle(project)
    out.print(
        f"wrote {len(written)} files to supabase/migrations" if written else "bundle up to date"
    )
    for name in written:
        out.print(f"  {name}")


@db_app.command("types")
def db_types(
    db_url: DbUrl = None,
    check: Annotated[bool, typer.Option("--check", help="Fail when the file is stale.")] = False,
) -> None:
    """Write supabase/types/database.ts, the Database type of supabase-js, from the migrations."""
    project = find_project()
    began = time.perf_counter()
    generated = typegen.generate(project, resolve_url(db_url, project))
    relative = typegen.types_file(project).relative_to(project.root)
    if check:
        if typegen.stale(project, generated):
            fail(f"{relative} is stale; run `backend db types`")
        out.print(f"{relative} is up to date")
        return
    written = typegen.write(project, generated)
    elapsed = time.perf_counter() - began
    out.print(f"{'wrote' if written else 'unchanged'} {relative} in {elapsed:.2f}s")


@db_app.command("lint")
def db_lint() -> None:
    """sqlfluff over all SQL, squawk over the migrations."""
    project = find_project()
    failed = []
    for run in run_lint(project):
        status = "ok" if run.returncode == 0 else "failed"
        out.print(f"{run.tool}: {status}")
        if run.returncode != 0:
            out.print(run.output.rstrip(), markup=False)
            failed.append(run.tool)
    if failed:
        fail(f"{' and '.join(failed)} found problems")


@app.command("seed")
def seed(
    db_url: DbUrl = None,
    coaches: Annotated[
        int | None,
        typer.Option("--coaches", help="Benchmark data: this many coaches, set-based."),
    ] = None,
    years: Annotated[
        float, typer.Option("--years", help="With --coaches: years of lesson history.")
    ] = 1.0,
) -> None:
    """Load the development seed (supabase/seed.sql), or with --coaches benchmark data."""
    project = find_project()
    url = resolve_bench_url(db_url, project) if coaches else resolve_url(db_url, project)
    require_migrated(url)
    if coaches is not None:
        from backend.bench import BenchError
        from backend.bench.command import run_seed

        try:
            run_seed(url, coaches=coaches, years=years, out=out)
        except BenchError as exc:
            fail(str(exc))
        return
    if not project.seed_file.is_file():
        fail(f"no seed file at {project.seed_file}")
    began = time.perf_counter()
    with connect(url) as conn, conn.transaction():
        count = migrations.execute_script(conn, project.seed_file.read_text(), "supabase/seed.sql")
    elapsed = time.perf_counter() - began
    out.print(f"seeded {redact(url)}: {len(count)} statements in {elapsed:.2f}s")


bench_app = typer.Typer(
    help="The performance suite; `bench soak`: mixed traffic and its invariants;"
    " `bench pooler`: many callers through a transaction pooler.",
    invoke_without_command=True,
)
app.add_typer(bench_app, name="bench")


@bench_app.callback()
def bench(
    ctx: typer.Context,
    db_url: DbUrl = None,
    coaches: Annotated[int, typer.Option("--coaches", help="Seed up to this many coaches.")] = 1000,
    years: Annotated[float, typer.Option("--years", help="Years of history to seed.")] = 1.0,
    sample: Annotated[int, typer.Option("--sample", help="Coaches sampled per query.")] = 200,
    scaling_from: Annotated[
        int, typer.Option("--scaling-from", help="Also measure at this scale first.")
    ] = 1000,
    rpc_seconds: Annotated[float, typer.Option("--rpc-seconds", help="Seconds per rate.")] = 10.0,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write every figure to this file.")
    ] = None,
) -> None:
    """The performance suite: page queries, RLS cost, scaling, history, N+1, RPC rate, audit."""
    if ctx.invoked_subcommand is not None:
        return
    from backend.bench import BenchError
    from backend.bench.command import run_bench

    if ctx.invoked_subcommand is not None:
        return
    url = resolve_bench_url(db_url, find_project())
    try:
        run_bench(
            url,
            coaches=coaches,
            years=years,
            sample=sample,
            scaling_from=scaling_from,
            rpc_seconds=rpc_seconds,
            json_path=json_path,
            out=out,
        )
    except BenchError as exc:
        fail(str(exc))


@bench_app.command("soak")
def bench_soak(
    db_url: DbUrl = None,
    seconds: Annotated[float, typer.Option("--seconds", help="How long the traffic runs.")] = 20.0,
    callers: Annotated[int, typer.Option("--callers", help="Callers at once.")] = 8,
    coaches: Annotated[int, typer.Option("--coaches", help="New coaches to act as.")] = 20,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write every figure to this file.")
    ] = None,
) -> None:
    """Mixed traffic as many coaches at once, then every invariant (docs/reliability.md)."""
    from backend.bench import BenchError
    from backend.bench.command import run_soak

    url = resolve_url(db_url, find_project())
    require_migrated(url)
    try:
        run_soak(
            url, seconds=seconds, callers=callers, coaches=coaches, json_path=json_path, out=out
        )
    except BenchError as exc:
        fail(str(exc))


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL if it runs."""
    out.print("stopped" if stop_embedded(find_project()) else "not running")


@db_app.command("url")
def db_url_command(db_url: DbUrl = None) -> None:
    """Print the database URL in use (starting the embedded one if needed)."""
    out.print(resolve_url(db_url, find_project()), markup=False)


coach_app = typer.Typer(help="Coach accounts.", no_args_is_help=True)
app.add_typer(coach_app, name="coach")
dev_app = typer.Typer(help="Local development helpers.", no_args_is_help=True)
app.add_typer(dev_app, name="dev")


@coach_app.command("create")
def coach_create(
    email: Annotated[str, typer.Option("--email", help="The coach's e-mail address.")],
    name: Annotated[str, typer.Option("--name", help="The coach's full name.")],
    password: Annotated[
        str | None, typer.Option("--password", help="Sign-in password (Supabase Auth only).")
    ] = None,
    db_url: DbUrl = None,
) -> None:
    """Create a coach: through Supabase Auth when SUPABASE_URL is set, else in auth.users."""
    data = parse_input(CoachCreate, email=email, full_name=name, password=password)
    settings = get_settings()
    project = find_project()
    url = "" if settings.supabase_url else resolve_url(db_url, project)
    coach = create_coach(settings, data, database_url=url)
    where = "Supabase Auth" if coach.created_through == "supabase_auth" else redact(url)
    out.print(f"created coach {coach.id} <{coach.email}> in {where}", markup=False)


@dev_app.command("token")
def dev_token_command(
    email: Annotated[str, typer.Option("--email", help="The local coach's e-mail address.")],
    ttl: Annotated[int, typer.Option("--ttl", min=60, max=86400, help="Seconds valid.")] = 3600,
    db_url: DbUrl = None,
) -> None:
    """Print an access token for a local coach, signed with SUPABASE_JWT_SECRET."""
    url = resolve_url(db_url, find_project())
    out.print(dev_token(get_settings(), database_url=url, email=email, ttl_seconds=ttl))


register_audit(app)
register_bench(bench_app, lambda db_url: resolve_url(db_url, find_project()))
register_serve(app)
register_stripe(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point: every failure is one line on stderr and a non-zero exit."""
    command = typer.main.get_command(app)
    try:
        # Outside standalone mode click returns the code of `typer.Exit(n)`.
        code = command.main(args=argv, prog_name="backend", standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(_print_error("aborted", 130))
    except TyperException as exc:  # usage errors: unknown option, bad value, missing argument
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        sys.exit(_print_error(message, int(getattr(exc, "exit_code", 2))))
    except (
        CliError,
        ConfigError,
        DatabaseUnavailable,
        EmbeddedUnavailable,
        migrations.MigrationError,
        typegen.TypegenError,
        CoachAccountError,
        NotMigrated,
        BackendError,
        FileNotFoundError,
    ) as exc:
        sys.exit(_print_error(str(exc), 1))
    except KeyboardInterrupt:
        sys.exit(_print_error("interrupted", 130))


if __name__ == "__main__":
    main()
