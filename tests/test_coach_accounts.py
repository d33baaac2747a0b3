"""`backend coach create` and `backend dev token`: from nothing to a coach and a working call.

Locally everything is real: the migrated test database, its sign-up trigger,
the token verifier. Supabase Auth's admin API is a hosted service that can not
run here, so its path is checked at the HTTP level against a recorded fake.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest

from backend.app import Backend
from backend.auth import Authenticator, TokenVerifier
from backend.coach_accounts import CoachAccountError, create_coach, dev_token
from backend.config import get_settings, load_settings
from backend.gateway.direct import DirectGateway
from backend.models import CoachCreate
from tests.db.test_cli import run_cli

SECRET = "a-local-development-secret-of-40-chars!!"


@pytest.fixture(autouse=True)
def local_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("SUPABASE_URL", "SUPABASE_ANON_KEY", "SUPABASE_SERVICE_ROLE_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SUPABASE_JWT_SECRET", SECRET)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _users(pg) -> int:
    return int(pg.admin.execute("select count(*) from auth.users").fetchone()[0])


def test_coach_create_makes_the_user_and_its_coach_row(pg, capsys):
    code, out, _ = run_cli(
        [
            "coach",
            "create",
            "--email",
            "ana@example.test",
            "--name",
            "Ana Lima",
            "--db-url",
            pg.url,
        ],
        capsys,
    )

    row = pg.admin.execute(
        "select c.id, c.full_name from public.coaches c where c.email = 'ana@example.test'"
    ).fetchone()
    assert code == 0
    assert row is not None and row[1] == "Ana Lima"
    assert out.startswith(f"created coach {row[0]} <ana@example.test>")


def test_coach_create_refuses_a_taken_email_and_changes_nothing(pg, capsys):
    pg.sign_up(email="ana@example.test")
    before = _users(pg)

    code, _, err = run_cli(
        ["coach", "create", "--email", "ANA@example.test", "--name", "Ana", "--db-url", pg.url],
        capsys,
    )

    assert code == 1
    assert err.strip() == "error: a user with e-mail ANA@example.test already exists"
    assert _users(pg) == before


def test_coach_create_refuses_bad_input_with_the_field(pg, capsys):
    code, _, err = run_cli(
        ["coach", "create", "--email", "not-an-address", "--name", " ", "--db-url", pg.url],
        capsys,
    )

    assert code == 1
    assert "email:" in err and "full_name:" in err
    assert _users(pg) == 0


def test_a_password_needs_supabase_auth(pg, capsys):
    code, _, err = run_cli(
        [
            *("coach", "create", "--email", "a@example.test", "--name", "A"),
            *("--password", "s3cret!!", "--db-url", pg.url),
        ],
        capsys,
    )

    assert code == 1
    assert "--password needs Supabase Auth (SUPABASE_URL)" in err
    assert _users(pg) == 0


def test_coach_create_on_a_database_never_migrated_says_to_migrate(empty_database, capsys):
    code, _, err = run_cli(
        ["coach", "create", "--email", "a@example.test", "--name", "A", "--db-url", empty_database],
        capsys,
    )

    assert code == 1
    assert err.strip().endswith("was never migrated: run `backend db migrate` first")


@pytest.fixture
def empty_database(backend_server) -> Iterator[str]:
    name = f"backend_empty_{uuid.uuid4().hex[:10]}"
    url = backend_server.create_database(name)
    yield url
    backend_server.drop_database(name)


def test_with_supabase_the_coach_is_made_by_the_auth_admin_api():
    seen: list[httpx.Request] = []
    user_id = str(uuid.uuid4())

    def auth_admin(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={
                "id": user_id,
                "aud": "authenticated",
                "role": "authenticated",
                "email": "ana@example.test",
                "app_metadata": {},
                "user_metadata": {"full_name": "Ana"},
                "created_at": "2026-11-27T10:00:00Z",
            },
        )

    settings = load_settings(
        supabase_url="https://proj.supabase.co",
        supabase_anon_key="anon-key",
        supabase_service_role_key="service-role-key",
    )
    data = CoachCreate(email="ana@example.test", full_name="Ana", password="s3cret-pass")

    coach = create_coach(settings, data, database_url="", transport=httpx.MockTransport(auth_admin))

    request = seen[-1]
    assert (request.method, request.url.path) == ("POST", "/auth/v1/admin/users")
    assert request.headers["authorization"] == "Bearer service-role-key"
    assert json.loads(request.content) == {
        "email": "ana@example.test",
        "password": "s3cret-pass",
        "email_confirm": True,
        "user_metadata": {"full_name": "Ana"},
    }
    assert (coach.id, coach.created_through) == (uuid.UUID(user_id), "supabase_auth")


def test_with_supabase_and_no_service_key_nothing_is_sent():
    settings = load_settings(supabase_url="https://proj.supabase.co", supabase_anon_key="anon")

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request may be sent without the service key")

    with pytest.raises(CoachAccountError, match="SUPABASE_SERVICE_ROLE_KEY"):
        create_coach(
            settings,
            CoachCreate(email="a@example.test", full_name="A"),
            database_url="",
            transport=httpx.MockTransport(unreachable),
        )


def test_a_dev_token_is_accepted_by_the_backend_as_that_coach(pg, capsys):
    coach = pg.sign_up(email="ana@example.test")

    code, out, _ = run_cli(
        ["dev", "token", "--email", "ana@example.test", "--db-url", pg.url], capsys
    )

    token = out.strip()
    claims = TokenVerifier(secret=SECRET).verify(token).claims
    verifier = TokenVerifier.from_settings(get_settings())
    backend = Backend(
        get_settings(),
        DirectGateway(pg.url, min_size=1, max_size=1),
        authenticator=Authenticator(verifier),
    )
    try:
        profile = backend.services_for_token(f"Bearer {token}").reads.profile()
    finally:
        backend.close()
    assert code == 0
    assert (claims["sub"], claims["role"], claims["email"]) == (
        str(coach.id),
        "authenticated",
        "ana@example.test",
    )
    assert profile.id == coach.id


def test_a_dev_token_expires_after_its_ttl(pg):
    pg.sign_up(email="ana@example.test")

    token = dev_token(
        get_settings(), database_url=pg.url, email="ana@example.test", ttl_seconds=60, now=1000
    )

    claims = TokenVerifier(secret=SECRET, leeway_seconds=10**10).verify(token).claims
    assert (claims["iat"], claims["exp"]) == (1000, 1060)


def test_dev_token_refuses_a_database_that_is_not_local(capsys):
    code, _, err = run_cli(
        [
            "dev",
            "token",
            "--email",
            "a@example.test",
            "--db-url",
            "postgresql://u@db.example.com/p",
        ],
        capsys,
    )

    assert code == 1
    assert "not a local database" in err


def test_dev_token_refuses_while_a_hosted_project_is_configured(pg, monkeypatch):
    monkeypatch.setenv("SUPABASE_URL", "https://proj.supabase.co")
    monkeypatch.setenv("SUPABASE_ANON_KEY", "anon")
    get_settings.cache_clear()

    with pytest.raises(CoachAccountError, match="hosted project"):
        dev_token(get_settings(), database_url=pg.url, email="a@example.test")


def test_dev_token_needs_the_jwt_secret(pg, monkeypatch):
    monkeypatch.delenv("SUPABASE_JWT_SECRET")
    get_settings.cache_clear()

    with pytest.raises(CoachAccountError, match="set SUPABASE_JWT_SECRET"):
        dev_token(get_settings(), database_url=pg.url, email="a@example.test")


def test_dev_token_for_an_unknown_email_says_how_to_make_the_coach(pg):
    with pytest.raises(CoachAccountError, match="create one with `backend coach create`"):
        dev_token(get_settings(), database_url=pg.url, email="nobody@example.test")
