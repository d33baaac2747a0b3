"""The direct gateway behind a transaction pooler: PgBouncer 1.18 in transaction mode, which
hands each transaction whichever server connection is free, as Supabase's pooler on port
6543 does. Many callers, mixed calls, no failure; and what psycopg's prepared statements
did there before the gateway stopped making them."""

from __future__ import annotations

from backend.bench.pooler import run_mixed_load
from backend.db.connect import pool_mode_of
from backend.gateway.direct import connection_kwargs

THREADS = 16
CALLS_PER_THREAD = 40  # 640 mixed calls


def _count(pg, table: str) -> int:
    return pg.admin.execute(f"select count(*) from public.{table}").fetchone()[0]


def test_sixteen_threads_of_mixed_calls_through_the_pooler_all_succeed(pg, pooled_url):
    report = run_mixed_load(pooled_url, pg.url, callers=THREADS, calls_per_caller=CALLS_PER_THREAD)

    assert report.calls >= 600
    assert (report.failed, report.errors) == (0, {})
    assert report.server_connections_peak <= 20


def test_every_booking_through_the_pooler_is_stored_once_and_paid_once(pg, pooled_url):
    report = run_mixed_load(pooled_url, pg.url, callers=THREADS, calls_per_caller=12)

    assert report.failed == 0
    assert _count(pg, "lessons") == report.by_kind["booking"]
    assert _count(pg, "payments") == report.by_kind["payment"]


def test_prepared_statements_fail_behind_the_pooler_which_is_why_they_are_off(pg, pooled_url):
    # Told it is on a direct connection, the gateway lets psycopg prepare statements
    # (`_pg3_0`…), and they meet other clients' server connections.
    report = run_mixed_load(
        pooled_url, pg.url, callers=THREADS, calls_per_caller=CALLS_PER_THREAD, pool_mode="direct"
    )

    assert any(kind.startswith("prepared statement") for kind in report.errors), report.errors


def test_the_transaction_pool_mode_turns_preparation_off_and_the_direct_one_keeps_it():
    assert connection_kwargs("transaction")["prepare_threshold"] is None
    assert "prepare_threshold" not in connection_kwargs("direct")
    assert "prepare_threshold" not in connection_kwargs("session")


def test_port_6543_is_taken_for_supabases_transaction_pooler():
    pooler = "postgresql://postgres.ref:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres"
    session = pooler.replace(":6543/", ":5432/")

    assert pool_mode_of(pooler) == "transaction"
    assert pool_mode_of(session) == "direct"
    assert pool_mode_of(session, "transaction") == "transaction"
    assert pool_mode_of(pooler, "session") == "session"
