"""Each attack of the isolation matrix catches the hole it is for, run by impersonation.

Every plant opens one hole in the clean planted tenant table (or a view or
function over it) and the proof must report a leak naming that attack.
"""

from __future__ import annotations

import pytest

from tests.audit.conftest import audit_planted
from tests.audit.plants import NOTES, RENAME_ANY_CLIENT, SERVICE_RENAME_CLIENT


def _replace(policy: str, clause: str) -> str:
    command = policy.rsplit("_", 1)[1]
    return (
        f"drop policy planted_notes_{command} on public.planted_notes;"
        f" create policy planted_notes_{command} on public.planted_notes for {command}"
        f" to authenticated {clause};"
    )


LINKS = """
create table public.planted_links (
    id uuid primary key default gen_random_uuid(),
    coach_id uuid not null default auth.uid() references public.coaches (id),
    note_id uuid not null references public.planted_notes (id)
);
create index planted_links_coach_idx on public.planted_links (coach_id);
create index planted_links_note_idx on public.planted_links (note_id);
alter table public.planted_links enable row level security;
create policy planted_links_all on public.planted_links for all to authenticated
    using (coach_id = (select auth.uid())) with check (coach_id = (select auth.uid()));
grant select, insert, update, delete on public.planted_links to authenticated;
"""

ATTACKS = {
    "read_another_coachs_row": (
        _replace("planted_notes_select", "using (coach_id is not null)"),
        "public.planted_notes",
        "coach A could read coach B's row",
    ),
    "read_through_a_view": (
        "create view public.planted_note_view as select id, coach_id, body"
        " from public.planted_notes; grant select on public.planted_note_view to authenticated;",
        "public.planted_note_view",
        "coach A reads coach B's rows through view",
    ),
    "insert_with_another_coach_id": (
        _replace("planted_notes_insert", "with check (coach_id is not null)"),
        "public.planted_notes",
        "coach A could insert a row owned by another coach",
    ),
    "insert_pointing_at_another_coachs_parent": (
        LINKS,
        "public.planted_links",
        "coach A could insert a row pointing at coach B's public.planted_notes",
    ),
    "move_own_row_to_another_coach": (
        _replace(
            "planted_notes_update",
            "using (coach_id = (select auth.uid())) with check (coach_id is not null)",
        ),
        "public.planted_notes",
        "coach A could move its own row to another owner",
    ),
    "point_own_row_at_another_coachs_parent": (
        LINKS,
        "public.planted_links",
        "coach A could point its own row at coach B's public.planted_notes",
    ),
    "update_another_coachs_row": (
        _replace(
            "planted_notes_update",
            "using (coach_id is not null) with check (coach_id is not null)",
        ),
        "public.planted_notes",
        "coach A could update coach B's row",
    ),
    "delete_another_coachs_row": (
        _replace("planted_notes_delete", "using (coach_id is not null)"),
        "public.planted_notes",
        "coach A could delete coach B's row",
    ),
    "upsert_onto_another_coachs_row": (
        # ON CONFLICT DO UPDATE needs the existing row visible: open select and update
        _replace("planted_notes_select", "using (coach_id is not null)")
        + _replace(
            "planted_notes_update",
            "using (coach_id is not null) with check (coach_id is not null)",
        ),
        "public.planted_notes",
        "coach A could upsert onto coach B's row",
    ),
    "anon_reads_a_coachs_row": (
        "grant select on public.planted_notes to anon;"
        " create policy planted_notes_anon on public.planted_notes for select to anon"
        " using (coach_id is not null);",
        "public.planted_notes",
        "anon could read coach B's row",
    ),
    "call_a_function_with_another_coachs_ids": (
        RENAME_ANY_CLIENT,
        "public.planted_rename_client(p_client_id uuid, p_first_name text)",
        "coach A called planted_rename_client with coach B's ids and it changed coach B's rows",
    ),
    "call_a_function_that_links_to_another_coachs_row": (
        LINKS + "create function public.planted_link(p_note_id uuid) returns void"
        " language sql set search_path = '' as"
        " 'insert into public.planted_links (note_id) values (p_note_id)';"
        " revoke execute on function public.planted_link(uuid) from public, anon;"
        " grant execute on function public.planted_link(uuid) to authenticated;",
        "public.planted_link(p_note_id uuid)",
        "coach A called planted_link with coach B's ids and it linked coach A's rows to coach B's",
    ),
    "call_a_function_as_anon": (
        RENAME_ANY_CLIENT + "grant execute on function public.planted_rename_client(uuid, text)"
        " to anon;",
        "public.planted_rename_client(p_client_id uuid, p_first_name text)",
        "anon called planted_rename_client with coach B's ids and it changed coach B's rows",
    ),
    "call_a_service_only_function_granted_to_authenticated": (
        SERVICE_RENAME_CLIENT
        + "grant execute on function public.planted_service_rename(uuid, text) to authenticated;",
        "public.planted_service_rename(p_client_id uuid, p_first_name text)",
        "coach A called planted_service_rename with coach B's ids and it changed coach B's rows",
    ),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_proof_catches_attack(attack, planted, config_with):
    plant, obj, message = ATTACKS[attack]
    planted.execute(NOTES + plant)
    result = audit_planted(planted, config_with(), dynamic=True, focus=[obj.partition("(")[0]])
    leaks = {"isolation_leak", "rpc_cross_tenant"}
    messages = [f.message for f in result.findings if f.object == obj and f.rule in leaks]
    assert any(message in m for m in messages), [(f.rule, f.message) for f in result.findings]
