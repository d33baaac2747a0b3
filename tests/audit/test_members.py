"""Membership tenancy probed: a member of another tenant and a lesser role are refused.

Holes are planted on a fresh copy of tests/audit/schemas/team_accounts.sql
(a policy too wide), and the audit with the documented configuration must
report each as a leak on the table; without the plant, the same tables are
proven (no finding on them).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from backend.audit.prover.members import lesser_roles
from backend.db.connect import connect
from tests.audit.schema_fixtures import apply_schema, audit_schema, documented_config

TABLES = ("public.accounts", "public.account_user", "public.invitations")


@pytest.fixture
def team_accounts(backend_server) -> Iterator[str]:
    name = f"audit_members_{uuid.uuid4().hex[:8]}"
    url = backend_server.create_database(name)
    apply_schema(url, "team_accounts")
    yield url
    backend_server.drop_database(name)


def plant(url: str, statement: str) -> None:
    with connect(url) as conn:
        conn.execute(statement)  # type: ignore[arg-type]
        conn.commit()


def findings_on(url: str, table: str) -> list[str]:
    result = audit_schema(url, documented_config("team_accounts"))
    return [f"{f.rule}: {f.message}" for f in result.findings if f.object == table]


def test_membership_tables_are_proven_without_a_plant(team_accounts):
    result = audit_schema(team_accounts, documented_config("team_accounts"))
    assert [f for f in result.findings if f.object in TABLES] == []
    cells = [c for c in result.matrix if c[0] in TABLES]
    assert any(c[3] == "denied" and "another tenant" in c[2] for c in cells)
    assert any(c[3] == "ok" and "as owner" in c[2] for c in cells)
    assert any(c[3] == "denied" and "as member" in c[2] for c in cells)


def test_a_member_of_another_tenant_reading_its_invitations_is_a_leak(team_accounts):
    plant(
        team_accounts,
        "create policy any_member_reads on public.invitations for select to authenticated"
        " using (exists (select from public.account_user))",
    )
    found = findings_on(team_accounts, "public.invitations")
    assert any(f.startswith("isolation_leak") and "row of another tenant" in f for f in found), (
        found
    )


def test_a_plain_member_updating_an_owner_only_row_is_a_leak(team_accounts):
    plant(
        team_accounts,
        "create policy members_update on public.accounts for update to authenticated"
        " using ((select public.has_role_on_account(id)))",
    )
    found = findings_on(team_accounts, "public.accounts")
    assert any(f.startswith("isolation_leak") and "as member" in f for f in found), found


def test_a_lesser_role_ranks_below_the_named_one():
    assert lesser_roles(["owner", "admin", "member"], "admin") == ["member"]
    assert lesser_roles(["member", "admin", "owner"], "owner") == ["member", "admin"]
    assert lesser_roles(["owner", "member"], "member") == []
