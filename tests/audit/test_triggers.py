"""Triggers exercised by the writes that fire them, judged by fingerprints of the victim's rows.

Each planted trigger runs as its owner (security definer, its EXECUTE revoked,
so no static rule about executable definer functions sees it). Each is first
shown by a direct probe to reach coach B's data when coach A writes its own
row; then the audit must name the write, the table and the changed row or the
copied canary. The near-miss trigger writes only its own coach's rows.
"""

from __future__ import annotations

from typing import Any

import psycopg

from backend.audit.findings import Finding
from tests.audit.adversary import coach, run_as, two_coaches
from tests.audit.conftest import audit_planted
from tests.audit.plants import NOTES

NOTES_OBJ = "public.planted_notes"


def _trigger(name: str, when: str, body: str) -> str:
    return (
        f"create function private.{name}() returns trigger language plpgsql security definer"
        f" set search_path = pg_catalog, pg_temp as $$ begin {body} end $$;"
        f" revoke execute on function private.{name}() from public, anon, authenticated;"
        f" create trigger {name} {when} on public.planted_notes"
        f" for each row execute function private.{name}();"
    )


TOUCHED = "alter table public.planted_notes add column touched_at timestamptz;"


def _leaks(findings: list[Finding]) -> list[str]:
    return [f.message for f in findings if f.rule == "isolation_leak" and f.object == NOTES_OBJ]


def _probe(conn: psycopg.Connection[Any], write: str, read: str) -> Any:
    """Coach B's note, coach A writes `write`, then the auditor reads `read`; rolled back."""
    with conn.transaction(force_rollback=True):
        who = two_coaches(conn)
        conn.execute(
            "insert into public.planted_notes (coach_id, body) values (%s, 'victim secret')",
            (who.victim,),
        )
        assert run_as(conn, coach(who.attacker), "select 1") == [(1,)]
        with conn.transaction():
            conn.execute("select set_config('role', 'authenticated', true)")
            conn.execute(
                "select set_config('request.jwt.claims', %s, true)",
                (f'{{"sub": "{who.attacker}", "role": "authenticated"}}',),
            )
            conn.execute(write)
            conn.execute("reset role")
        return conn.execute(read.format(victim=who.victim, attacker=who.attacker)).fetchall()


def _audit(conn: psycopg.Connection[Any], config_with: Any) -> list[Finding]:
    return audit_planted(conn, config_with(), dynamic=True, focus=[NOTES_OBJ]).findings


INSERT_OWN = "insert into public.planted_notes (body) values ('mine')"


def test_definer_trigger_that_writes_every_coachs_rows_is_a_leak(planted, config_with):
    planted.execute(
        NOTES
        + TOUCHED
        + _trigger(
            "planted_touch_others",
            "after insert",
            "update public.planted_notes set touched_at = now() where id <> new.id; return null;",
        )
    )
    touched = _probe(
        planted,
        INSERT_OWN,
        "select touched_at is not null from public.planted_notes where coach_id = '{victim}'",
    )
    assert touched == [(True,)]
    messages = _leaks(_audit(planted, config_with))
    assert any(
        "coach A's insert of a row of coach A's in public.planted_notes"
        " (triggers on public.planted_notes: planted_touch_others) changed coach B's row" in m
        for m in messages
    ), messages


def test_definer_trigger_that_copies_another_coachs_data_into_the_callers_row_is_a_leak(
    planted, config_with
):
    planted.execute(
        NOTES
        + "alter table public.planted_notes add column digest text;"
        + _trigger(
            "planted_digest",
            "before insert",
            "new.digest := (select string_agg(body, ' | ') from public.planted_notes); return new;",
        )
    )
    digest = _probe(
        planted,
        INSERT_OWN,
        "select digest from public.planted_notes where coach_id = '{attacker}'",
    )
    assert "victim secret" in str(digest)
    messages = _leaks(_audit(planted, config_with))
    assert any(
        "copied canary" in m
        and "(coach B's public.planted_notes.body)" in m
        and "into coach A's rows" in m
        for m in messages
    ), messages


def test_definer_trigger_that_deletes_rows_with_the_same_text_is_a_leak(planted, config_with):
    # the attacker may write the text: its own row collides with the victim's, and goes
    planted.execute(
        NOTES
        + _trigger(
            "planted_forget_duplicates",
            "after delete",
            "delete from public.planted_notes where body = old.body; return null;",
        )
    )
    gone = _probe(
        planted,
        "insert into public.planted_notes (body) values ('victim secret');"
        " delete from public.planted_notes where coach_id = (select auth.uid())",
        "select count(*) from public.planted_notes where coach_id = '{victim}'",
    )
    assert gone == [(0,)]
    messages = _leaks(_audit(planted, config_with))
    assert any(
        "delete of coach A's first row" in m and "removed coach B's row" in m for m in messages
    ), messages


def test_definer_trigger_that_writes_only_its_own_coachs_rows_is_not_reported(planted, config_with):
    planted.execute(
        NOTES
        + TOUCHED
        + _trigger(
            "planted_touch_mine",
            "after insert",
            "update public.planted_notes set touched_at = now()"
            " where coach_id = new.coach_id and id <> new.id; return null;",
        )
    )
    touched = _probe(
        planted,
        INSERT_OWN,
        "select touched_at is not null from public.planted_notes where coach_id = '{victim}'",
    )
    assert touched == [(False,)]
    findings = _audit(planted, config_with)
    assert [(f.rule, f.message) for f in findings if "planted_" in f.object] == []
