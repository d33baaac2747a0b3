"""The soak's traffic and invariant checks, briefly, on a test database (CI runs 20 s)."""

from __future__ import annotations

from backend.bench.invariants import broken_invariants
from backend.bench.soak import soak


def test_a_short_soak_sees_no_error_and_every_invariant_holds(pg):
    report = soak(pg.url, seconds=2, callers=3, coaches=3)

    assert report.traffic.total > 0
    assert set(report.traffic.requests) == {"read", "booking", "payment", "webhook"}
    assert report.sound, report.as_json()


def test_the_invariants_see_a_row_written_behind_the_audit_trails_back(pg):
    coach = pg.sign_up()
    pg.admin.execute("alter table public.clients disable trigger write_audit_log")
    pg.admin.execute(
        "insert into public.clients (coach_id, first_name) values (%s, 'Unaudited')", (coach.id,)
    )
    pg.admin.execute("alter table public.clients enable trigger write_audit_log")

    assert broken_invariants(pg.admin)["write_without_audit"] == 1
