"""Fixtures for the service tests: the real database, as signed-up coaches.

By default every test gets a fresh migrated database (`pg`) and a direct
gateway (a psycopg pool) on it; `services_for(coach)` is the service API bound
to that coach, impersonated exactly as PostgREST would.

When SUPABASE_URL (with SUPABASE_ANON_KEY and SUPABASE_SERVICE_ROLE_KEY) names
a real project, the same tests run a second time against it, through the
Supabase gateway: `new_coach()` then creates a user with the Auth admin API
and signs it in, and the services carry its real access token. Tests that
read the local database behind the services' back are marked `direct_only`.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from backend.db.connect import database_name
from backend.gateway.base import Caller, Request
from backend.gateway.direct import DirectGateway
from backend.gateway.supabase import SupabaseGateway
from backend.services import Services
from backend.services.accounts import AccountService
from backend.testing import Coach, TestDatabase
from backend.testing.pgbouncer import PgBouncer
from tests.gateway.stand_in import (
    ANON_KEY,
    SERVICE_KEY,
    URL,
    PostgrestOnDatabase,
    user_token,
)

LIVE = bool(os.environ.get("SUPABASE_URL"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "direct_only: reads the local database directly; run through the direct gateway"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every service test runs through both gateways on the same real database: the
    direct one, straight and through PgBouncer in transaction mode (as behind
    Supabase's pooler on port 6543), and the Supabase one in front of the PostgREST
    stand-in; and once more against a real Supabase project when one is configured."""
    if "backend_kind" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("direct_only"):
        kinds = ["direct"]
    else:
        kinds = ["direct", "pooler", "postgrest", *(["supabase"] if LIVE else [])]
    metafunc.parametrize("backend_kind", kinds)


@dataclass(frozen=True)
class LiveCoach:
    id: uuid.UUID
    email: str
    access_token: str = field(repr=False)


class LiveProject:
    """A real Supabase project: throwaway users through the Auth admin API."""

    def __init__(self) -> None:
        self.gateway = SupabaseGateway(
            os.environ["SUPABASE_URL"],
            os.environ["SUPABASE_ANON_KEY"],
            service_role_key=os.environ["SUPABASE_SERVICE_ROLE_KEY"],
        )
        self._admin = self.gateway.client_for(Caller.service(), administrative=True).auth.admin
        self._accounts = AccountService(self.gateway, None, lambda ip, email: email)
        self._created: list[str] = []

    def new_coach(self) -> LiveCoach:
        email = f"test-{uuid.uuid4().hex[:12]}@example.test"
        password = secrets.token_urlsafe(18)
        user = self._admin.create_user(
            {"email": email, "password": password, "email_confirm": True}
        )
        self._created.append(user.user.id)
        signed = self._accounts.sign_in(email, password, ip="127.0.0.1")
        return LiveCoach(signed.user_id, email, signed.access_token)

    def close(self) -> None:
        for user_id in self._created:
            self._admin.delete_user(user_id)
        self.gateway.close()


@pytest.fixture(scope="session")
def live_project() -> Iterator[LiveProject]:
    project = LiveProject()
    yield project
    project.close()


@pytest.fixture
def gateway(pg: TestDatabase) -> Iterator[DirectGateway]:
    gw = DirectGateway(pg.url, min_size=1, max_size=4)
    yield gw
    gw.close()


@pytest.fixture
def pooled_gateway(pg: TestDatabase, pgbouncer: PgBouncer) -> Iterator[DirectGateway]:
    """The direct gateway on the test database through PgBouncer in transaction mode."""
    gw = DirectGateway(
        pgbouncer.url(database_name(pg.url)), min_size=1, max_size=4, pool_mode="transaction"
    )
    yield gw
    gw.close()


@pytest.fixture
def new_coach(request: pytest.FixtureRequest, backend_kind: str) -> Callable[[], Any]:
    """Signs a new coach up: through auth.users locally, through Supabase Auth when live."""
    if backend_kind == "supabase":
        return request.getfixturevalue("live_project").new_coach  # type: ignore[no-any-return]
    return request.getfixturevalue("pg").sign_up  # type: ignore[no-any-return]


@pytest.fixture
def services_for(request: pytest.FixtureRequest, backend_kind: str) -> Callable[..., Services]:
    if backend_kind == "supabase":
        live: LiveProject = request.getfixturevalue("live_project")

        def make_live(coach: LiveCoach, limiter: Any = None) -> Services:
            caller = Caller.user(coach.id, email=coach.email, access_token=coach.access_token)
            return Services(live.gateway.session(caller), limiter)

        return make_live
    if backend_kind == "postgrest":
        supabase: SupabaseGateway = request.getfixturevalue("supabase_gateway")

        def make_supabase(coach: Coach, limiter: Any = None) -> Services:
            jwt = user_token(coach.id, coach.email)
            caller = Caller.user(coach.id, email=coach.email, access_token=jwt)
            return Services(supabase.session(caller), limiter)

        return make_supabase
    fixture = "pooled_gateway" if backend_kind == "pooler" else "gateway"
    gateway: DirectGateway = request.getfixturevalue(fixture)

    def make(coach: Coach, limiter: Any = None) -> Services:
        caller = Caller.user(coach.id, email=coach.email)
        return Services(gateway.session(caller), limiter)

    return make


@pytest.fixture
def coach(new_coach: Callable[[], Any]) -> Any:
    return new_coach()


@pytest.fixture
def svc(coach: Coach, services_for: Callable[..., Services]) -> Services:
    return services_for(coach)


class UnreachableSession:
    """A session that fails the test if a request reaches it: proves validation ran first."""

    caller = Caller.user("00000000-0000-4000-8000-000000000001")

    def execute(self, request: Request) -> Any:
        raise AssertionError(f"the request reached the database: {request!r}")


@pytest.fixture
def offline() -> Services:
    return Services(UnreachableSession())


@pytest.fixture
def ann(svc: Services) -> Any:
    return svc.clients.create(first_name="Ann", email="ann@example.test")


@pytest.fixture
def bob(svc: Services) -> Any:
    return svc.clients.create(first_name="Bob")


@pytest.fixture
def single(svc: Services) -> Any:
    """A one-client, one-hour lesson type at 50.00."""
    return svc.lesson_types.create(name="Single", duration_minutes=60, price_cents=5000)


@pytest.fixture
def pair(svc: Services) -> Any:
    """A lesson type for at most two clients, 30.00 each."""
    return svc.lesson_types.create(
        name="Pair", duration_minutes=60, price_cents=3000, max_participants=2
    )


@pytest.fixture
def postgrest(pg: TestDatabase) -> Iterator[PostgrestOnDatabase]:
    """PostgREST's part played in front of the test database (tests/gateway/stand_in.py)."""
    fake = PostgrestOnDatabase(pg.url)
    yield fake
    fake.close()


@pytest.fixture
def supabase_gateway(postgrest: PostgrestOnDatabase) -> Iterator[SupabaseGateway]:
    http = httpx.Client(transport=httpx.MockTransport(postgrest.handler))
    gw = SupabaseGateway(URL, ANON_KEY, service_role_key=SERVICE_KEY, http_client=http)
    yield gw
    http.close()


@pytest.fixture(params=["direct", "supabase"])
def via(request: pytest.FixtureRequest) -> Callable[..., Services]:
    """The service API of a coach through either gateway, on the same real database:
    the direct one, or the Supabase one (supabase-py, the coach's own JWT) through
    the PostgREST stand-in. A scenario written with it must pass both ways."""
    if request.param == "direct":
        direct: DirectGateway = request.getfixturevalue("gateway")

        def make_direct(coach: Coach | None) -> Services:
            caller = Caller.anon() if coach is None else Caller.user(coach.id, email=coach.email)
            return Services(direct.session(caller))

        return make_direct
    supabase: SupabaseGateway = request.getfixturevalue("supabase_gateway")

    def make(coach: Coach | None) -> Services:
        if coach is None:
            return Services(supabase.session(Caller.anon()))
        jwt = user_token(coach.id, coach.email)
        return Services(
            supabase.session(Caller.user(coach.id, email=coach.email, access_token=jwt))
        )

    return make
