"""What the catalog really exposes: PostgREST's own schemas, partitions, ids without a key.

Each planted hole is first shown to leak by a direct probe as coach A (the
probe's rows rolled back), then the audit must name it; the near-miss beside
it is safe and must not be reported.
"""

from __future__ import annotations

from typing import Any

import psycopg

from backend.audit.catalog import parse_schema_list
from backend.audit.findings import Finding
from tests.audit.adversary import coach, run_as, two_coaches
from tests.audit.conftest import audit_planted, reported

LEAKS = {"isolation_leak", "rpc_cross_tenant"}


def _leaks(findings: list[Finding], obj: str) -> list[str]:
    return [f.message for f in findings if f.rule in LEAKS and f.object == obj]


def _about(findings: list[Finding], fragment: str) -> list[tuple[str, str]]:
    return [(f.rule, f.message) for f in findings if fragment in f.object]


def _probe(conn: psycopg.Connection[Any], setup: str, attack: str) -> Any:
    """Coach B's row made by `setup` ({victim}), then `attack` as coach A; all rolled back."""
    with conn.transaction(force_rollback=True):
        who = two_coaches(conn)
        conn.execute(setup.format(victim=who.victim, attacker=who.attacker))
        return run_as(conn, coach(who.attacker), attack.format(victim=who.victim))


# -- exposed schemas from PostgREST's own setting -----------------------------------------------

API_SCHEMA = """
create schema planted_api;
grant usage on schema planted_api to anon, authenticated, service_role;
create table planted_api.memos (
    id uuid primary key default gen_random_uuid(),
    coach_id uuid not null default auth.uid() references public.coaches (id),
    body text not null
);
create index planted_memos_coach_idx on planted_api.memos (coach_id);
grant select, insert, update, delete on planted_api.memos to authenticated, service_role;
"""
SERVE_API = """
do $$ begin
    execute format('alter role authenticator in database %I set pgrst.db_schemas = %L',
                   current_database(), 'public, "planted_api"');
end $$;
"""


def test_postgrest_schema_list_is_parsed_like_postgrest():
    assert parse_schema_list(' public, "api" ,,extra ') == ("public", "api", "extra")


def test_schema_served_by_postgrest_but_missing_from_audit_toml_is_audited(planted, config_with):
    planted.execute(API_SCHEMA + SERVE_API)
    leaked = _probe(
        planted,
        "insert into planted_api.memos (coach_id, body) values ('{victim}', 'victim memo')",
        "select body from planted_api.memos",
    )
    assert leaked == [("victim memo",)]
    result = audit_planted(planted, config_with(), dynamic=True, focus=["planted_api.memos"])
    assert "planted_api.memos" in reported(result, "rls_disabled_in_public")
    assert any(
        "coach A could read coach B's row" in m
        for m in _leaks(result.findings, "planted_api.memos")
    )


def test_definer_view_in_a_schema_served_by_postgrest_is_reported(planted, config_with):
    planted.execute(
        API_SCHEMA + SERVE_API + "alter table planted_api.memos enable row level security;"
        " create policy memos_own on planted_api.memos for all to authenticated"
        " using (coach_id = (select auth.uid())) with check (coach_id = (select auth.uid()));"
        " create view planted_api.memo_feed as select coach_id, body from planted_api.memos;"
        " grant select on planted_api.memo_feed to authenticated;"
    )
    leaked = _probe(
        planted,
        "insert into planted_api.memos (coach_id, body) values ('{victim}', 'victim memo')",
        "select body from planted_api.memo_feed",
    )
    assert leaked == [("victim memo",)]
    result = audit_planted(planted, config_with(), dynamic=True, focus=["planted_api.memo_feed"])
    assert "planted_api.memo_feed" in reported(result, "security_definer_view")
    assert _leaks(result.findings, "planted_api.memo_feed")


def test_schema_postgrest_does_not_serve_is_not_audited(planted, config_with):
    # near-miss: the setting belongs to another role, so PostgREST does not serve the schema
    planted.execute(
        API_SCHEMA
        + "do $$ begin execute format('alter role anon in database %I set pgrst.db_schemas = %L',"
        " current_database(), 'public, planted_api'); end $$;"
    )
    result = audit_planted(planted, config_with())
    assert _about(result.findings, "planted_api") == []


# -- partitions -------------------------------------------------------------------------------

ENTRIES = """
create table public.planted_entries (
    id uuid not null default gen_random_uuid(),
    coach_id uuid not null default auth.uid() references public.coaches (id),
    body text not null,
    primary key (id, coach_id)
) partition by hash (coach_id);
create index planted_entries_coach_idx on public.planted_entries (coach_id);
alter table public.planted_entries enable row level security;
create policy planted_entries_own on public.planted_entries for all to authenticated
    using (coach_id = (select auth.uid())) with check (coach_id = (select auth.uid()));
grant select, insert, update, delete on public.planted_entries to authenticated, service_role;
create table public.planted_entries_all partition of public.planted_entries
    for values with (modulus 1, remainder 0);
"""
VICTIM_ENTRY = (
    "insert into public.planted_entries (coach_id, body) values ('{victim}', 'victim entry')"
)
PARTITION = "public.planted_entries_all"


def test_partition_without_rls_queried_by_name_is_a_leak(planted, config_with):
    planted.execute(ENTRIES + f"grant select on {PARTITION} to authenticated;")
    assert _probe(planted, VICTIM_ENTRY, f"select body from {PARTITION}") == [("victim entry",)]
    result = audit_planted(planted, config_with(), dynamic=True, focus=[PARTITION])
    assert PARTITION in reported(result, "rls_disabled_in_public")
    assert _leaks(result.findings, PARTITION)


def test_partition_with_its_own_open_policy_is_a_leak(planted, config_with):
    planted.execute(
        ENTRIES + f"alter table {PARTITION} enable row level security;"
        f" create policy planted_entries_all_read on {PARTITION} for select to authenticated"
        f" using (true); grant select on {PARTITION} to authenticated;"
    )
    assert _probe(planted, VICTIM_ENTRY, f"select body from {PARTITION}") == [("victim entry",)]
    result = audit_planted(planted, config_with(), dynamic=True, focus=[PARTITION])
    assert f"{PARTITION}.planted_entries_all_read" in reported(result, "tenant_policy_always_true")
    assert _leaks(result.findings, PARTITION)


def test_partition_with_the_parents_rules_is_not_reported(planted, config_with):
    planted.execute(
        ENTRIES + f"alter table {PARTITION} enable row level security;"
        f" create policy planted_entries_all_own on {PARTITION} for select to authenticated"
        f" using (coach_id = (select auth.uid())); grant select on {PARTITION} to authenticated;"
    )
    assert _probe(planted, VICTIM_ENTRY, f"select body from {PARTITION}") == []
    result = audit_planted(planted, config_with(), dynamic=True, focus=[PARTITION])
    assert _about(result.findings, "planted_entries") == []


# -- id columns without a foreign key ----------------------------------------------------------


def _visits(columns: str) -> str:
    return f"""
create table public.planted_visits (
    id uuid primary key default gen_random_uuid(),
    coach_id uuid not null default auth.uid() references public.coaches (id),
    {columns}
);
create index planted_visits_coach_idx on public.planted_visits (coach_id);
alter table public.planted_visits enable row level security;
create policy planted_visits_own on public.planted_visits for all to authenticated
    using (coach_id = (select auth.uid())) with check (coach_id = (select auth.uid()));
grant select, insert, update, delete on public.planted_visits to authenticated, service_role;
"""


VISITS = "public.planted_visits"
CLIENT_OF_VICTIM = (
    "insert into public.clients (id, coach_id, first_name)"
    " values ('00000000-0000-4000-8000-00000000c11e', '{victim}', 'Victim client')"
)


def test_client_id_without_foreign_key_lets_a_coach_name_another_coachs_client(
    planted, config_with
):
    planted.execute(_visits("client_id uuid not null"))
    inserted = _probe(
        planted,
        CLIENT_OF_VICTIM,
        f"insert into {VISITS} (client_id) values ('00000000-0000-4000-8000-00000000c11e')"
        " returning client_id::text",
    )
    assert inserted == [("00000000-0000-4000-8000-00000000c11e",)]
    result = audit_planted(planted, config_with(), dynamic=True, focus=[VISITS])
    assert f"{VISITS}.client_id" in reported(result, "id_without_foreign_key")
    assert any(
        "insert a row pointing at coach B's public.clients (client_id, no foreign key)" in m
        for m in _leaks(result.findings, VISITS)
    )


def test_column_named_after_a_tenant_table_without_foreign_key_is_attacked(planted, config_with):
    planted.execute(_visits("lesson uuid"))
    victim_lesson = "00000000-0000-4000-8000-0000000001e5"
    inserted = _probe(
        planted,
        "insert into public.lessons (id, coach_id, title, start_time, end_time)"
        f" values ('{victim_lesson}', '{{victim}}', 'Victim lesson', now(),"
        " now() + interval '1 hour')",
        f"insert into {VISITS} (lesson) values ('{victim_lesson}') returning lesson::text",
    )
    assert inserted == [(victim_lesson,)]
    result = audit_planted(planted, config_with(), dynamic=True, focus=[VISITS])
    assert f"{VISITS}.lesson" in reported(result, "id_without_foreign_key")
    assert any(
        "point its own row at coach B's public.lessons (lesson, no foreign key)" in m
        for m in _leaks(result.findings, VISITS)
    )


def test_id_held_by_a_tenant_safe_foreign_key_is_not_reported(planted, config_with):
    planted.execute(
        _visits(
            "client_id uuid not null, external_ref_id text,"
            " foreign key (client_id, coach_id) references public.clients (id, coach_id)"
        )
        + "create index planted_visits_client_idx on public.planted_visits (client_id, coach_id);"
    )
    refused = _probe(
        planted,
        CLIENT_OF_VICTIM,
        f"insert into {VISITS} (client_id) values ('00000000-0000-4000-8000-00000000c11e')",
    )
    assert "violates foreign key constraint" in str(refused)
    result = audit_planted(planted, config_with(), dynamic=True, focus=[VISITS])
    assert _about(result.findings, "planted_visits") == []
