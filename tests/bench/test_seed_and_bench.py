"""`backend seed --coaches` and `backend bench`: data that holds every rule, every figure."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from rich.console import Console

from backend.bench import BenchError
from backend.bench.command import run_bench
from backend.bench.run import measure_rpc, sample_coaches
from backend.bench.seed import SeedError, seed_coaches, seeded_coaches


def _scalar(pg, query, *params):
    row = pg.admin.execute(query, params).fetchone()
    return row[0]


def test_seeded_coaches_have_clients_types_lessons_and_money(pg):
    seed_coaches(pg.admin, 3, years=0.5)

    per_coach = pg.admin.execute(
        "select c.id, (select count(*) from clients where coach_id = c.id),"
        " (select count(*) from lesson_types where coach_id = c.id),"
        " (select count(*) from lessons where coach_id = c.id and start_time < now())"
        " from coaches as c"
    ).fetchall()
    assert len(per_coach) == 3
    for _, clients, types, past_lessons in per_coach:
        assert 35 <= clients <= 65 and 3 <= types <= 5
        assert 120 <= past_lessons <= 180  # about 300 a year over half a year
    statuses = {r[0] for r in pg.admin.execute("select distinct status from lessons")}
    assert statuses == {"scheduled", "completed", "cancelled", "no_show"}
    assert _scalar(pg, "select count(*) from lessons where client_id is null") > 0  # groups
    assert _scalar(pg, "select count(*) from lessons where recurring_lesson_id is not null") > 0
    paid = {
        r[0] for r in pg.admin.execute("select distinct payment_status from lesson_participants")
    }
    assert paid == {"paid", "unpaid", "waived"}


def test_the_bench_knows_how_many_clients_each_seeded_coach_has(pg):
    seed_coaches(pg.admin, 3, years=0.1)

    for coach in sample_coaches(3, 3):
        count = _scalar(pg, "select count(*) from clients where coach_id = %s", coach.id)
        assert count == coach.clients


def test_every_seeded_row_has_its_audit_log_entry(pg):
    seed_coaches(pg.admin, 2, years=0.25)

    missing = _scalar(
        pg,
        "select count(*) from lesson_participants as p where not exists ("
        " select from audit_log as a where a.table_name = 'lesson_participants'"
        " and a.record_id = p.id::text and a.action = 'INSERT')",
    )
    assert missing == 0


def test_a_second_seed_adds_only_the_missing_coaches(pg):
    seed_coaches(pg.admin, 2, years=0.25)
    lessons = _scalar(pg, "select count(*) from lessons")

    result = seed_coaches(pg.admin, 3, years=0.25)

    assert (result.added, seeded_coaches(pg.admin)) == (1, 3)
    assert _scalar(pg, "select count(*) from coaches") == 3
    assert _scalar(pg, "select count(*) from lessons") > lessons


_FINGERPRINT = """
select
    (select count(*) from public.lessons),
    (select md5(string_agg(id::text || status::text || start_time::text, ',' order by id))
     from public.lessons),
    (select md5(string_agg(id::text || payment_status::text, ',' order by id))
     from public.lesson_participants),
    (select count(*) from public.audit_log)
"""


def test_loaders_at_once_load_what_one_loader_loads(pg, backend_server, migrated_template):
    import datetime as dt

    from backend.db.connect import connect

    now = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)
    seed_coaches(pg.admin, 5, years=0.2, now=now)
    one_loader = pg.admin.execute(_FINGERPRINT).fetchone()
    url = backend_server.create_database("seed_loaders", template=migrated_template)
    try:
        with connect(url, autocommit=True) as conn:
            result = seed_coaches(
                conn,
                5,
                years=0.2,
                now=now,
                loaders=2,
                connect=lambda: connect(url, autocommit=True),
            )
            loaded = conn.execute(_FINGERPRINT).fetchone()
    finally:
        backend_server.drop_database("seed_loaders")

    assert result.added == 5
    assert loaded == one_loader


@pytest.mark.parametrize(("coaches", "years"), [(0, 1.0), (5, 0.0), (5, 21.0)])
def test_a_bad_scale_is_refused_and_changes_nothing(pg, coaches, years):
    with pytest.raises(SeedError):
        seed_coaches(pg.admin, coaches, years=years)

    assert _scalar(pg, "select count(*) from auth.users") == 0


def test_the_command_refuses_a_bad_scale_in_one_line(pg):
    done = subprocess.run(
        [sys.executable, "-m", "backend.cli", "seed", "--db-url", pg.url, "--coaches", "0"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == ["error: --coaches must be at least 1"]


def test_the_bench_reports_every_figure_in_its_json(pg, tmp_path):
    report_path = tmp_path / "bench.json"
    console = Console(file=open(tmp_path / "out.txt", "w"), width=120)  # noqa: SIM115

    run_bench(
        pg.url,
        coaches=12,
        years=0.25,
        sample=10,
        scaling_from=6,
        rpc_seconds=0.5,
        json_path=report_path,
        out=console,
    )

    report = json.loads(report_path.read_text())
    assert report["scale"]["coaches"] == 12 and report["seed_seconds"] > 0
    assert set(report["queries"]) == {
        "client_balances",
        "coach_dashboard",
        "calendar_next_7_days",
        "lesson_history_page",
        "clients_by_name",
    }
    for figures in report["queries"].values():
        assert figures["p50_ms"] > 0 and figures["p95_ms"] >= figures["p50_ms"]
        assert figures["rls_ratio"] > 0
    assert report["scaling"]["from_coaches"] == 6
    assert set(report["history"]["queries"]) == {"client_balances", "coach_dashboard"}
    assert report["dashboard"]["speedup"] > 1
    assert report["rpc"]["calls_per_s"] > 0 and report["rpc"]["reference_calls_per_s"] > 0
    assert report["audit_seconds"] > 0 and report["audit_findings"] == 0
    # The rate test's lessons are gone again; the history test was rolled back.
    assert (
        _scalar(pg, "select count(*) from lessons where start_time > now() + interval '300 days'")
        == 0
    )


def test_the_bench_refuses_a_sample_too_small_to_mean_anything(pg):
    with pytest.raises(BenchError):
        run_bench(
            pg.url,
            coaches=3,
            years=1,
            sample=2,
            scaling_from=3,
            rpc_seconds=1,
            json_path=None,
            out=Console(),
        )


def test_the_rate_measure_lifts_the_lesson_limit_and_restores_it(pg):
    # The rate measure books as fast as it can as a few coaches, far past the database's
    # lesson write limit (docs/rules.md). Here the limit is one lesson a minute: the
    # measure fails unless it lifts the limit, and it must put it back.
    seed_coaches(pg.admin, 2, years=0.1)
    limit = "select max_writes from private.rate_limits where policy = 'lesson'"
    pg.admin.execute("update private.rate_limits set max_writes = 1 where policy = 'lesson'")
    try:
        figures = measure_rpc(pg.url, sample_coaches(2, 2), seconds=0.3)
        assert figures["calls_per_s"] > 0
        assert pg.admin.execute(limit).fetchone() == (1,)
    finally:
        pg.admin.execute("update private.rate_limits set max_writes = 30 where policy = 'lesson'")
