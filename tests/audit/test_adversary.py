"""The proof against an attacker who controls what a user controls, and leaks without ids.

Each planted hole is first shown to leak by a direct probe (coach A, forging
what the hole trusts, reads coach B's note), then the audit must name it as a
leak with a canary or a changed result; each near-miss is safe and must not
be reported at all.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from backend.audit.findings import Finding
from tests.audit.adversary import coach, run_as, two_coaches
from tests.audit.conftest import audit_planted
from tests.audit.plants import NOTES

LEAKS = {"isolation_leak", "rpc_cross_tenant"}
SECRET = "victim secret"
NOTE_OF_VICTIM = "insert into public.planted_notes (coach_id, body) values ('{victim}', '{secret}')"


def _leaks(findings: list[Finding], obj: str) -> list[str]:
    return [f.message for f in findings if f.rule in LEAKS and f.object == obj]


def _about(findings: list[Finding], fragment: str) -> list[tuple[str, str]]:
    return [(f.rule, f.message) for f in findings if fragment in f.object]


def _probe(
    conn: psycopg.Connection[Any],
    attack: str,
    *,
    setup: str = NOTE_OF_VICTIM,
    claims: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    as_attacker: str = "",
) -> Any:
    """Coach B's note, then `attack` as coach A (forging `claims`, `headers`); rolled back.

    `as_attacker` runs first as coach A: what the attacker does to its own rows.
    """
    with conn.transaction(force_rollback=True):
        who = two_coaches(conn)
        conn.execute(setup.format(victim=who.victim, attacker=who.attacker, secret=SECRET))
        forged = {k: v.format(victim=who.victim) for k, v in (claims or {}).items()}
        header_values = {k: v.format(victim=who.victim) for k, v in (headers or {}).items()}
        attacker = coach(who.attacker, **forged)
        if as_attacker:
            with conn.transaction():
                run_as(conn, attacker, "select 1")
                conn.execute("select set_config('role', 'authenticated', true)")
                conn.execute(
                    "select set_config('request.jwt.claims', %s, true)",
                    (f'{{"sub": "{who.attacker}", "role": "authenticated"}}',),
                )
                conn.execute(as_attacker.format(victim=who.victim, secret=SECRET))
                conn.execute("reset role")
        return run_as(conn, attacker, attack, headers=header_values)


def _select_policy(using: str) -> str:
    return (
        "drop policy planted_notes_select on public.planted_notes;"
        " create policy planted_notes_select on public.planted_notes for select"
        f" to authenticated using ({using});"
    )


NOTES_OBJ = "public.planted_notes"
VICTIM_NOTE = "00000000-0000-4000-8000-0000000000b1"
READ = "select body from public.planted_notes where body = 'victim secret'"


def _audit(conn: psycopg.Connection[Any], config_with: Any, *focus: str) -> list[Finding]:
    return audit_planted(conn, config_with(), dynamic=True, focus=list(focus)).findings


# -- every value an attacker controls -----------------------------------------------------------

WITH_OWNER_EMAIL = (
    "alter table public.planted_notes add column owner_email text;"
    " create or replace function private.planted_owner_email() returns trigger"
    " language plpgsql set search_path = pg_catalog, pg_temp as $$ begin"
    " new.owner_email := coalesce(new.owner_email,"
    " (select email from public.coaches where id = new.coach_id)); return new; end $$;"
    " create trigger planted_owner_email before insert on public.planted_notes"
    " for each row execute function private.planted_owner_email();"
)
ATTACKER_CLAIMS = {
    "email_claim": (
        # a note is shared with whoever's token carries the owner's e-mail
        WITH_OWNER_EMAIL
        + _select_policy("coach_id = (select auth.uid()) or owner_email = (select auth.email())"),
        "insert into public.planted_notes (coach_id, body, owner_email)"
        " values ('{victim}', '{secret}', 'victim@example.test')",
        {"email": "victim@example.test"},
        {},
    ),
    "user_metadata": (
        _select_policy(
            "coach_id = (select auth.uid()) or coach_id::text ="
            " ((select auth.jwt()) -> 'user_metadata' ->> 'assistant_of')"
        ),
        NOTE_OF_VICTIM,
        {"user_metadata": {"assistant_of": "{victim}"}},
        {},
    ),
    "request_header": (
        _select_policy(
            "coach_id = (select auth.uid()) or coach_id::text ="
            " (current_setting('request.headers', true)::json ->> 'x-on-behalf-of')"
        ),
        NOTE_OF_VICTIM,
        {},
        {"x-on-behalf-of": "{victim}"},
    ),
}


@pytest.mark.parametrize("hole", sorted(ATTACKER_CLAIMS))
def test_policy_trusting_a_value_the_attacker_forges_is_a_leak(hole, planted, config_with):
    plant, setup, claims, headers = ATTACKER_CLAIMS[hole]
    planted.execute(NOTES + plant)
    assert _probe(planted, READ, setup=setup) == []  # honest attacker: nothing
    forged = {
        k: v if isinstance(v, str) else {kk: vv for kk, vv in v.items()} for k, v in claims.items()
    }
    if "user_metadata" in forged:
        with planted.transaction(force_rollback=True):
            who = two_coaches(planted)
            planted.execute(setup.format(victim=who.victim, secret=SECRET))
            attacker = coach(who.attacker, user_metadata={"assistant_of": who.victim})
            assert run_as(planted, attacker, READ) == [(SECRET,)]
    else:
        assert _probe(planted, READ, setup=setup, claims=forged, headers=headers) == [(SECRET,)]
    messages = _leaks(_audit(planted, config_with, NOTES_OBJ), NOTES_OBJ)
    assert any("coach A could read coach B's row" in m for m in messages), messages


def test_policy_trusting_app_metadata_which_users_can_not_set_is_not_reported(planted, config_with):
    planted.execute(
        NOTES
        + _select_policy(
            "coach_id = (select auth.uid()) or coach_id::text ="
            " ((select auth.jwt()) -> 'app_metadata' ->> 'assistant_of')"
        )
    )
    assert _about(_audit(planted, config_with, NOTES_OBJ), "planted_notes") == []


def test_policy_that_only_narrows_with_a_header_is_not_reported(planted, config_with):
    planted.execute(
        NOTES
        + _select_policy(
            "coach_id = (select auth.uid()) and coalesce((select current_setting("
            "'request.headers', true))::json ->> 'x-on-behalf-of', coach_id::text)"
            " = coach_id::text"
        )
    )
    assert _about(_audit(planted, config_with, NOTES_OBJ), "planted_notes") == []


# A coach sees the notes on the topics it writes about itself: the topic is
# read by a definer helper so that the policy does not recurse.
TOPICS = """
alter table public.planted_notes add column topic text;
create function private.planted_my_topics() returns setof text
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
    select topic from public.planted_notes where coach_id = (select auth.uid())
$$;
revoke execute on function private.planted_my_topics() from public, anon;
grant execute on function private.planted_my_topics() to authenticated;
""" + _select_policy(
    "coach_id = (select auth.uid()) or topic in (select private.planted_my_topics())"
)
VICTIM_TOPIC = (
    "insert into public.planted_notes (coach_id, body, topic)"
    " values ('{victim}', '{secret}', 'serve'), ('{attacker}', 'mine', null)"
)


def test_policy_comparing_a_column_the_attacker_may_write_is_a_leak(planted, config_with):
    planted.execute(NOTES + TOPICS)
    assert _probe(planted, READ, setup=VICTIM_TOPIC) == []
    copied = _probe(
        planted,
        READ,
        setup=VICTIM_TOPIC,
        as_attacker="update public.planted_notes set topic = 'serve' where body = 'mine'",
    )
    assert copied == [(SECRET,)]
    messages = _leaks(_audit(planted, config_with, NOTES_OBJ), NOTES_OBJ)
    assert any(
        "coach A reads coach B's data through table public.planted_notes: canary" in m
        for m in messages
    ), messages


def test_policy_comparing_a_column_only_the_server_writes_is_not_reported(planted, config_with):
    # near-miss: a trigger derives the topic from the owner, whatever the writer sends
    planted.execute(
        NOTES
        + TOPICS
        + "create function private.planted_derive_topic() returns trigger language plpgsql"
        " set search_path = pg_catalog, pg_temp as $$ begin"
        " new.topic := 'coach ' || new.coach_id::text; return new; end $$;"
        " create trigger planted_derive_topic before insert or update on public.planted_notes"
        " for each row execute function private.planted_derive_topic();"
    )
    copied = _probe(
        planted,
        READ,
        setup=VICTIM_TOPIC,
        as_attacker="update public.planted_notes set topic = 'serve' where body = 'mine'",
    )
    assert copied == []
    assert _about(_audit(planted, config_with, NOTES_OBJ), "planted_notes") == []


STATUS = (
    "alter table public.planted_notes add column status text not null default 'draft'"
    " constraint planted_notes_status check (status in ('draft', 'published', 'archived'));"
)
ARCHIVED = (
    "insert into public.planted_notes (coach_id, body, status)"
    " values ('{victim}', '{secret}', 'archived')"
)


def test_and_or_precedence_that_misfires_for_one_status_is_a_leak(planted, config_with):
    planted.execute(
        NOTES
        + STATUS
        + _select_policy(
            "coach_id = (select auth.uid()) and status = 'draft' or status = 'archived'"
        )
    )
    assert _probe(planted, READ, setup=ARCHIVED) == [(SECRET,)]
    assert _probe(planted, READ, setup=ARCHIVED.replace("archived", "published")) == []
    findings = _audit(planted, config_with, NOTES_OBJ)
    messages = _leaks(findings, NOTES_OBJ)
    assert any("through table public.planted_notes" in m for m in messages), messages


def test_parenthesised_status_condition_is_not_reported(planted, config_with):
    planted.execute(
        NOTES
        + STATUS
        + _select_policy(
            "coach_id = (select auth.uid()) and (status = 'draft' or status = 'archived')"
        )
    )
    assert _probe(planted, READ, setup=ARCHIVED) == []
    assert _about(_audit(planted, config_with, NOTES_OBJ), "planted_notes") == []


# -- leaks without a single id --------------------------------------------------------------


def _definer(name: str, returns: str, body: str, args: str = "") -> str:
    return (
        f"create function public.{name}({args}) returns {returns} language plpgsql stable"
        f" security definer set search_path = pg_catalog, pg_temp as $$ {body} $$;"
        f" revoke execute on function public.{name} from public, anon;"
        f" grant execute on function public.{name} to authenticated;"
    )


def test_function_returning_another_coachs_text_without_ids_is_a_leak(planted, config_with):
    planted.execute(
        NOTES
        + _definer(
            "planted_recent_bodies",
            "setof text",
            "begin return query select body from public.planted_notes; end",
        )
    )
    bodies = _probe(planted, "select * from public.planted_recent_bodies()")
    assert (SECRET,) in bodies
    obj = "public.planted_recent_bodies()"
    messages = _leaks(_audit(planted, config_with, "public.planted_recent_bodies"), obj)
    assert any("returned canary" in m and "planted_notes.body" in m for m in messages), messages


def test_function_returning_a_count_over_every_coach_is_a_leak(planted, config_with):
    planted.execute(
        NOTES
        + _definer(
            "planted_note_total",
            "bigint",
            "begin return (select count(*) from public.planted_notes); end",
        )
    )
    counted = _probe(planted, "select public.planted_note_total()")
    assert counted == [(1,)]  # coach A has no note: the one counted is coach B's
    obj = "public.planted_note_total()"
    messages = _leaks(_audit(planted, config_with, "public.planted_note_total"), obj)
    assert any("changes when coach B's rows are removed" in m for m in messages), messages


def test_function_naming_another_coachs_data_in_its_error_is_a_leak(planted, config_with):
    planted.execute(
        NOTES
        + _definer(
            "planted_check_note",
            "boolean",
            "declare n public.planted_notes; begin"
            " select * into n from public.planted_notes where id = p_note_id;"
            " if n.coach_id <> (select auth.uid()) then"
            " raise exception 'note belongs to someone else: %', n.body; end if;"
            " return true; end",
            "p_note_id uuid",
        )
    )
    error = _probe(
        planted,
        f"select public.planted_check_note('{VICTIM_NOTE}')",
        setup="insert into public.planted_notes (id, coach_id, body)"
        f" values ('{VICTIM_NOTE}', '{{victim}}', '{{secret}}')",
    )
    assert SECRET in str(error)
    obj = "public.planted_check_note(p_note_id uuid)"
    messages = _leaks(_audit(planted, config_with, "public.planted_check_note"), obj)
    assert any("its error names canary" in m for m in messages), messages


def test_view_of_an_aggregate_over_every_coach_is_a_leak(planted, config_with):
    planted.execute(
        NOTES + "create view public.planted_note_stats as"
        " select count(*) as notes, max(length(body)) as longest from public.planted_notes;"
        " grant select on public.planted_note_stats to authenticated;"
    )
    assert _probe(planted, "select notes from public.planted_note_stats") == [(1,)]
    messages = _leaks(
        _audit(planted, config_with, "public.planted_note_stats"), "public.planted_note_stats"
    )
    assert any("changes when coach B's rows are removed" in m for m in messages), messages


def test_invoker_function_counting_the_callers_own_rows_is_not_reported(planted, config_with):
    planted.execute(
        NOTES + "create function public.planted_my_note_total() returns bigint language sql"
        " stable set search_path = pg_catalog, pg_temp as"
        " 'select count(*) from public.planted_notes';"
        " revoke execute on function public.planted_my_note_total from public, anon;"
        " grant execute on function public.planted_my_note_total to authenticated;"
        " create view public.planted_my_note_stats with (security_invoker = true) as"
        " select count(*) as notes from public.planted_notes;"
        " grant select on public.planted_my_note_stats to authenticated;"
    )
    assert _probe(planted, "select public.planted_my_note_total()") == [(0,)]
    findings = _audit(
        planted, config_with, "public.planted_my_note_total", "public.planted_my_note_stats"
    )
    assert _about(findings, "planted_my_note") == []
