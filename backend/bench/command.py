"""What `backend seed --coaches` and `backend bench` print: progress, tables, one-line errors."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from backend.bench.seed import SeedResult, check_scale, seed_coaches, seeded_coaches
from backend.db.connect import connect, redact


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
                conn, coaches, years=years, progress=lambda n: bar.advance(task, n)
            )
    rows = ", ".join(f"{name} {count:,}" for name, count in sorted(result.rows.items()))
    out.print(
        f"seeded {redact(url)}: {result.added:,} coaches added ({result.coaches:,} in all)"
        f" in {result.seconds:.1f}s; {rows}"
    )
    return result
