"""The pytest plugin's own rules: impersonation as PostgREST does it, and its guards."""

from __future__ import annotations

import json
import uuid

import pytest

from backend.db.impersonation import ImpersonationError, Principal, impersonate
from backend.testing import IsolationGuardError, TestDatabase
from backend.testing.database import DatabaseServer


def test_as_coach_sets_role_and_full_claims_for_one_transaction(pg: TestDatabase) -> None:
    coach = pg.sign_up(email="ann@example.test")
    with pg.as_coach(coach) as conn:
        role, claims, uid = conn.execute(
            "select current_user, current_setting('request.jwt.claims'), auth.uid()"
        ).fetchone()
    assert role == "authenticated"
    assert uid == coach.id
    assert json.loads(claims) == {
        "role": "authenticated",
        "sub": str(coach.id),
        "aud": "authenticated",
        "email": "ann@example.test",
    }


def test_impersonation_ends_with_its_transaction(pg: TestDatabase) -> None:
    coach = pg.sign_up()
    with pg.as_coach(coach) as conn:
        pass
    # The same connection, after the transaction: back to the login role, no claims.
    assert conn.closed  # each block has its own connection
    with pg.as_anon() as conn:
        assert conn.execute("select auth.uid()").fetchone()[0] is None
        assert conn.execute("select auth.role()").fetchone()[0] == "anon"


def test_settings_are_transaction_local(pg: TestDatabase) -> None:
    conn = pg.admin
    with conn.transaction():
        impersonate(conn, Principal.anon())
        assert conn.execute("select current_user").fetchone()[0] == "anon"
    assert conn.execute("select current_user").fetchone()[0] != "anon"
    assert conn.execute("select current_setting('request.jwt.claims', true)").fetchone()[0] == ""


def test_isolation_guard_refuses_a_role_that_bypasses_rls(pg: TestDatabase) -> None:
    with (
        pytest.raises(IsolationGuardError, match="service_role"),
        pg.acting_as(Principal.service(), guard=True),
    ):
        pass


def test_service_role_is_allowed_where_isolation_is_not_being_proven(pg: TestDatabase) -> None:
    with pg.as_service() as conn:
        assert conn.execute("select current_user").fetchone()[0] == "service_role"


def test_impersonation_refuses_roles_outside_the_api(pg: TestDatabase) -> None:
    with (
        pytest.raises(ImpersonationError, match="postgres"),
        pg.acting_as(Principal("postgres", {}), guard=False),
    ):
        pass


def test_failed_block_is_rolled_back(pg: TestDatabase) -> None:
    with pytest.raises(RuntimeError), pg.as_service() as conn:
        conn.execute("insert into auth.users (id, email) values (gen_random_uuid(), 'x@y.test')")
        raise RuntimeError("abort")
    count = pg.admin.execute("select count(*) from auth.users where email = 'x@y.test'")
    assert count.fetchone()[0] == 0


def test_request_headers_are_set_lower_cased(pg: TestDatabase) -> None:
    with pg.as_anon(headers={"X-Request-Id": "req-1"}) as conn:
        headers = conn.execute("select current_setting('request.headers')::json").fetchone()[0]
    assert headers == {"x-request-id": "req-1"}


def test_copies_of_the_template_do_not_share_changes(
    pg: TestDatabase, backend_server: DatabaseServer, migrated_template: str
) -> None:
    pg.admin.execute("create table public.scratch_marker (id int)")
    name = f"backend_copy_{uuid.uuid4().hex[:8]}"
    other = TestDatabase(backend_server.create_database(name, template=migrated_template))
    try:
        found = other.admin.execute("select to_regclass('public.scratch_marker')").fetchone()[0]
    finally:
        other.close()
        backend_server.drop_database(name)
    assert found is None


def test_template_has_the_project_migrated(pg: TestDatabase) -> None:
    count = pg.admin.execute("select count(*) from supabase_migrations.schema_migrations")
    assert count.fetchone()[0] >= 1
