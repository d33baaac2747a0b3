"""The Supabase-aware baseline: what the API can not reach is one hygiene note, never a leak.

Supabase's default grants, TRUNCATE (which PostgREST never sends), policies whose
condition is null for anon, trigger functions and `read = "authenticated"`
tables each have a near-miss here that must not be an error or a warning, next
to the variant that must.
"""

from __future__ import annotations

from psycopg import sql

from backend.audit.findings import Level
from backend.audit.policy_eval import as_anon, refuses_anon
from tests.audit.conftest import audit_planted, reported
from tests.audit.plants import NOTES

DEFAULTS = "alter default privileges in schema public grant all on tables to anon, authenticated;"


def _levels(result, rule):
    return [f.level for f in result.findings if f.rule == rule]


def test_auth_functions_take_anons_values():
    text = as_anon("(( SELECT auth.uid() AS uid) = user_id) or auth.role() = 'admin'")
    assert "auth." not in text
    assert "(null::uuid)" in text and "('anon'::text)" in text


def test_the_planner_decides_what_refuses_anon(planted):
    planted.execute(NOTES)
    table = "public.planted_notes"
    ident = sql.SQL(table)
    assert refuses_anon(planted, ident, "coach_id = ( SELECT auth.uid() AS uid)")
    assert refuses_anon(planted, ident, "false")
    assert refuses_anon(planted, ident, "auth.role() = 'authenticated'")
    assert not refuses_anon(planted, ident, "coach_id = coalesce(auth.uid(), coach_id)")
    assert not refuses_anon(planted, ident, "coach_id is not null")
    assert not refuses_anon(planted, ident, "no_such_column = 1")  # unplannable: not proven


def test_a_policy_null_for_anon_is_not_open_to_anon(planted, config_with):
    planted.execute(
        NOTES + "drop policy planted_notes_select on public.planted_notes;"
        " create policy planted_notes_select on public.planted_notes for select"
        " using (coach_id = (select auth.uid()));"
    )
    result = audit_planted(planted, config_with())
    assert "public.planted_notes.planted_notes_select" not in reported(
        result, "tenant_policy_to_public"
    )


def test_default_grants_are_one_hygiene_note(planted, config_with):
    planted.execute(
        DEFAULTS + NOTES + "create table public.planted_more (id uuid primary key,"
        " coach_id uuid not null references public.coaches (id));"
        " alter table public.planted_more enable row level security;"
    )
    result = audit_planted(planted, config_with())
    assert reported(result, "api_default_grants") == ["public"]
    assert _levels(result, "api_default_grants") == [Level.INFO]
    # anon's and authenticated's default privileges on a table no policy opens: no per-table noise
    assert "public.planted_more" not in reported(result, "anon_privilege_on_tenant_table")
    assert "public.planted_more" not in reported(result, "grant_without_policy")


def test_an_explicit_grant_is_still_reported_per_table(planted, config_with):
    planted.execute(NOTES + "grant select on public.planted_notes to anon;")
    result = audit_planted(planted, config_with())
    assert "public.planted_notes" in reported(result, "anon_privilege_on_tenant_table")


def test_truncate_is_hygiene_not_a_leak(planted, config_with):
    planted.execute(NOTES + "grant truncate on public.planted_notes to authenticated, anon;")
    result = audit_planted(planted, config_with(), dynamic=True, focus=["public.planted_notes"])
    assert reported(result, "api_default_grants") == ["public"]
    assert not [f for f in result.findings if "truncate" in f.message and f.level > Level.INFO]


def test_a_trigger_function_is_not_a_callable_definer(planted, config_with):
    planted.execute(
        "create function public.planted_touch() returns trigger language plpgsql"
        " security definer set search_path = '' as $$ begin return new; end $$;"
        " grant execute on function public.planted_touch() to anon, authenticated;"
    )
    result = audit_planted(planted, config_with())
    for role in ("anon", "authenticated"):
        assert not [
            o
            for o in reported(result, f"{role}_security_definer_function_executable")
            if "planted_touch" in o
        ]
