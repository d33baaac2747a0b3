"""What `backend seed --coaches` and `backend bench` print: progress, tables, one-line errors."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from psycopg import sql
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from backend.bench import BenchError, pooler, run
from backend.bench.pooler import PoolerReport
from backend.bench.run import BenchReport, QueryFigures
from backend.bench.seed import SeedResult, check_scale, seed_coaches, seeded_coaches
from backend.bench.soak import SoakReport, soak
from backend.cli_options import DbUrl
from backend.db import migrations
from backend.db.connect import PoolMode, connect, redact, with_database
from backend.db.project import find_project


def coach_progress(out: Console, label: str) -> Progress:
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=out,
        transient=False,
    )


def run_seed(url: str, *, coaches: int, years: float, out: Console) -> SeedResult:
    """`backend seed --coaches N --years Y`: add the missing benchmark coaches, with a bar."""
    check_scale(coaches, years)
    with connect(url, autocommit=True) as conn:
        present = seeded_coaches(conn)
        with coach_progress(out, "seeding coaches") as bar:
            task = bar.add_task("seed", total=max(0, coaches - present))
            result = seed_coaches(
                conn,
                coaches,
                years=years,
                progress=lambda n: bar.advance(task, n),
                connect=lambda: connect(url, autocommit=True),
            )
    rows = ", ".join(f"{name} {count:,}" for name, count in sorted(result.rows.items()))
    out.print(
        f"seeded {redact(url)}: {result.added:,} coaches added ({result.coaches:,} in all)"
        f" in {result.seconds:.1f}s; {rows}"
    )
    return result


def run_bench(
    url: str,
    *,
    coaches: int,
    years: float,
    sample: int,
    scaling_from: int,
    rpc_seconds: float,
    json_path: Path | None,
    out: Console,
) -> BenchReport:
    """`backend bench`: seed what is missing, then measure every figure on this database."""
    check_scale(coaches, years)
    if sample < 10:
        raise BenchError("--sample must be at least 10 coaches")
    seed_seconds = 0.0
    small: dict[str, QueryFigures] | None = None
    if scaling_from < coaches and run.present_coaches(url) < scaling_from:
        seed_seconds += run_seed(url, coaches=scaling_from, years=years, out=out).seconds
        out.print(f"measuring the page queries at {scaling_from:,} coaches")
        with run.bench_connection(url) as conn:
            small = run.measure_pages(conn, run.sample_coaches(scaling_from, sample))
    if run.present_coaches(url) < coaches:
        seed_seconds += run_seed(url, coaches=coaches, years=years, out=out).seconds
    coaches = max(coaches, run.present_coaches(url))
    chosen = run.sample_coaches(coaches, sample)
    typical = [c for c in chosen if c.has_50_clients]
    with run.bench_connection(url) as conn:
        out.print(f"measuring the page queries at {coaches:,} coaches ({len(chosen)} sampled)")
        queries = run.measure_pages(conn, chosen)
        out.print("measuring them again unprepared, as behind a transaction pooler")
        unprepared = run.measure_pages(conn, chosen, prepare=False)
        out.print("measuring one balances request against one request per client (50 clients)")
        fifty = run.coaches_with_clients(coaches, 50, 20) or typical[:20]
        dashboard = run.measure_dashboard(conn, fifty)
        rows = run.table_rows(conn)
        server = str(conn.execute("show server_version").fetchone()[0])  # type: ignore[index]
    out.print(f"measuring create_lesson_with_participants, {run.RPC_WORKERS} workers")
    rpc = run.measure_rpc(url, typical, rpc_seconds)
    out.print("measuring a balances read through the Python layer")
    layer_read = run.measure_layer_read(url, typical[0], 200)
    out.print("running the policy audit")
    audit_seconds, findings = run.measure_audit(url)
    with run.bench_connection(url) as conn:
        out.print("measuring the balance pages with twice the history (rolled back)")
        history = run.measure_history(conn, typical[:50])
        conn.execute("analyze public.lessons, public.lesson_participants, public.payments")
    report = run.BenchReport(
        scale={"coaches": coaches, "sample": len(chosen), "server": server, "rows": rows},
        seed_seconds=round(seed_seconds, 1),
        queries=queries,
        queries_unprepared=unprepared,
        scaling=_scaling(small, queries, scaling_from, coaches),
        history=history,
        dashboard=dashboard,
        rpc=rpc,
        layer_read=layer_read,
        audit_seconds=round(audit_seconds, 2),
        audit_findings=findings,
    )
    print_report(report, out)
    if json_path is not None:
        json_path.write_text(json.dumps(report.as_json(), indent=2) + "\n", encoding="utf-8")
        out.print(f"wrote {json_path}")
    return report


def run_soak(
    url: str, *, seconds: float, callers: int, coaches: int, json_path: Path | None, out: Console
) -> SoakReport:
    """`backend bench soak`: mixed traffic for `seconds`, then every invariant; prints both."""
    if seconds <= 0 or callers < 1 or coaches < 1:
        raise BenchError("--seconds, --callers and --coaches must be positive")
    out.print(f"soak: {coaches} coaches, {callers} callers, {seconds:g} s of mixed traffic")
    report = soak(url, seconds=seconds, callers=callers, coaches=coaches)
    figures = report.as_json()
    table = Table(title="soak")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name in ("requests", "p50_ms", "p95_ms"):
        table.add_row(name, str(figures[name]))
    for kind, count in sorted(figures["requests_by_kind"].items()):
        table.add_row(f"requests: {kind}", str(count))
    for key, count in sorted(figures["refused_by_key"].items()):
        table.add_row(f"refused (expected): {key}", str(count))
    for key, count in sorted(figures["errors_by_kind"].items()):
        table.add_row(f"error: {key}", str(count))
    for name, count in sorted(figures["invariants_broken"].items()):
        table.add_row(f"rows breaking {name}", str(count))
    out.print(table)
    if json_path is not None:
        json_path.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    if not report.sound:
        raise BenchError("the soak saw errors or broken invariants (see the table)")
    out.print("soak: no errors, every invariant holds")
    return report


def _scaling(
    small: dict[str, QueryFigures] | None,
    large: dict[str, QueryFigures],
    small_coaches: int,
    large_coaches: int,
) -> dict[str, Any] | None:
    if small is None:
        return None
    return {
        "from_coaches": small_coaches,
        "to_coaches": large_coaches,
        "queries": {
            name: {
                "p50_ms_from": small[name].p50_ms,
                "p50_ms_to": large[name].p50_ms,
                "p95_ms_from": small[name].p95_ms,
                "p95_ms_to": large[name].p95_ms,
                "p50_ratio": round(large[name].p50_ms / small[name].p50_ms, 3),
                "p95_ratio": round(large[name].p95_ms / small[name].p95_ms, 3),
            }
            for name in large
        },
    }


def print_report(report: BenchReport, out: Console) -> None:
    table = Table(
        title=f"page queries as a coach, {report.scale['coaches']:,} coaches",
        caption="ms, every statement prepared as PostgREST prepares them; owner: p50 as the"
        " table owner; RLS, scale, hist.: ratios; np: not prepared (behind a transaction"
        " pooler)",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("query", no_wrap=True, min_width=20)
    columns = ("p50", "p95", "owner", "RLS", "scale", "hist.", "np p95")
    for column in columns:
        table.add_column(column, justify="right", min_width=5)
    scaling = (report.scaling or {}).get("queries", {})
    history = report.history.get("queries", {})
    for name, figures in report.queries.items():
        table.add_row(
            name,
            f"{figures.p50_ms:.2f}",
            f"{figures.p95_ms:.2f}",
            f"{figures.owner_p50_ms:.2f}",
            f"{figures.rls_ratio:.2f}",
            f"{scaling[name]['p95_ratio']:.2f}" if name in scaling else "-",
            f"{history[name]['ratio']:.2f}" if name in history else "-",
            f"{report.queries_unprepared[name].p95_ms:.2f}",
        )
    out.print(table)
    dash, rpc, read = report.dashboard, report.rpc, report.layer_read
    out.print(
        f"balances for {dash['clients_per_coach']:.0f} clients: one request"
        f" {dash['view_ms']:.2f} ms, one request per client {dash['n_plus_one_ms']:.1f} ms"
        f" ({dash['speedup']:.1f} times faster)"
    )
    out.print(
        f"create_lesson_with_participants, {rpc['workers']:.0f} workers: {rpc['calls_per_s']:.0f}"
        f" calls/s through the layer, {rpc['reference_calls_per_s']:.0f} raw ({rpc['ratio']:.2f})"
    )
    out.print(
        f"balances read through the layer: p50 {read['p50_ms']:.2f} ms against"
        f" {read['raw_p50_ms']:.2f} ms raw (+{read['overhead_ms']:.2f} ms)"
    )
    out.print(
        f"policy audit: {report.audit_seconds:.1f} s, {report.audit_findings} findings;"
        f" seeding in this run: {report.seed_seconds:.0f} s"
    )


def run_pooler(
    url: str,
    *,
    callers: int,
    server_connections: int,
    calls: int,
    pool_mode: PoolMode,
    pooler_url: str | None,
    json_path: Path | None,
    out: Console,
) -> PoolerReport:
    """`backend bench pooler`: mixed calls from many callers through a transaction pooler.

    Runs on a scratch database migrated from nothing on `url`'s server (dropped
    after), behind `pooler_url`'s pooler when given, else behind a PgBouncer
    started here in transaction mode with `server_connections` server connections.
    """
    if callers < 1 or calls < 1 or server_connections < 1:
        raise BenchError("--callers, --calls and --server-connections must be at least 1")
    scratch = f"backend_pooler_{uuid.uuid4().hex[:8]}"
    with connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(scratch)))
    bouncer = None
    try:
        scratch_url = with_database(url, scratch)
        out.print(f"migrating the scratch database {scratch}")
        migrations.migrate(find_project(), scratch_url)
        if pooler_url is None:
            from backend.testing.pgbouncer import PgBouncerUnavailable, start_pgbouncer

            try:
                bouncer = start_pgbouncer(url, server_connections=server_connections)
            except PgBouncerUnavailable as exc:
                raise BenchError(str(exc)) from None
            pooled = bouncer.url(scratch)
            out.print(f"PgBouncer in transaction mode on port {bouncer.port}")
        else:
            pooled = with_database(pooler_url, scratch)
        report = pooler.run_mixed_load(
            pooled,
            scratch_url,
            callers=callers,
            calls_per_caller=calls,
            pool_mode=pool_mode,
            progress=out.print,
        )
    finally:
        if bouncer is not None:
            bouncer.stop()
        with connect(url, autocommit=True) as conn:
            conn.execute(migrations.drop_database_sql(scratch))
    print_pooler_report(report, server_connections if pooler_url is None else None, out)
    if json_path is not None:
        json_path.write_text(json.dumps(report.as_json(), indent=2) + "\n", encoding="utf-8")
        out.print(f"wrote {json_path}")
    return report


def print_pooler_report(report: PoolerReport, limit: int | None, out: Console) -> None:
    ceiling = f" (pooler limit {limit})" if limit is not None else ""
    out.print(
        f"{report.callers} callers, {report.calls} mixed calls in {report.seconds:.1f}s:"
        f" {report.calls_per_s:.0f} calls/s, p50 {report.p50_ms:.1f} ms,"
        f" p95 {report.p95_ms:.1f} ms; server connections at most"
        f" {report.server_connections_peak}{ceiling}"
    )
    out.print(f"calls by kind: {', '.join(f'{k} {n}' for k, n in report.by_kind.items())}")
    if report.failed:
        errors = ", ".join(f"{kind} {n}" for kind, n in report.errors.items())
        out.print(f"[red]{report.failed} failed[/red]: {errors}")
    else:
        out.print("0 failed")


def register(bench_app: typer.Typer, resolve_url: Callable[[str | None], str]) -> None:
    """Add `pooler` to `backend bench`."""

    @bench_app.command("pooler")
    def pooler_command(
        db_url: DbUrl = None,
        callers: Annotated[int, typer.Option("--callers", help="Concurrent callers.")] = 200,
        server_connections: Annotated[
            int, typer.Option("--server-connections", help="PgBouncer's server connections.")
        ] = 20,
        calls: Annotated[int, typer.Option("--calls", help="Mixed calls per caller.")] = 12,
        pool_mode: Annotated[
            str, typer.Option("--pool-mode", help="What the gateway is told: transaction|direct.")
        ] = "transaction",
        pooler_url: Annotated[
            str | None,
            typer.Option("--pooler-url", help="An existing transaction pooler on that server."),
        ] = None,
        json_path: Annotated[
            Path | None, typer.Option("--json", help="Write the figures to this file.")
        ] = None,
    ) -> None:
        """Many callers through a transaction pooler: calls/s, p95, failed calls by kind."""
        if pool_mode not in ("transaction", "direct", "session"):
            raise typer.BadParameter(
                "must be transaction, session or direct", param_hint="--pool-mode"
            )
        try:
            report = run_pooler(
                resolve_url(db_url),
                callers=callers,
                server_connections=server_connections,
                calls=calls,
                pool_mode=pool_mode,  # type: ignore[arg-type]
                pooler_url=pooler_url,
                json_path=json_path,
                out=Console(),
            )
        except BenchError as exc:
            Console(stderr=True).print(f"error: {exc}", soft_wrap=True)
            raise typer.Exit(1) from None
        if report.failed:
            raise typer.Exit(1)
