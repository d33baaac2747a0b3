"""Fixtures for the Supabase gateway: a recording httpx transport in place of Supabase's servers.

No PostgREST or Supabase Auth server runs on these machines (neither is
published where they can reach, and Docker does not run), so the Supabase
gateway is tested at the HTTP level: every request supabase-py sends is
recorded and answered here. These are the only mocks: Supabase's hosted HTTP
services. `test_supabase_live.py` runs against a real project when
SUPABASE_URL and the keys are set, and is not collected otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from backend.gateway.base import Caller
from backend.gateway.supabase import SupabaseGateway
from backend.services import Services
from tests.gateway.fakes import ANON_KEY, SERVICE_KEY, URL, USER_ID, USER_TOKEN, FakeSupabase

collect_ignore = [] if os.environ.get("SUPABASE_URL") else ["test_supabase_live.py"]


@pytest.fixture
def supabase() -> FakeSupabase:
    return FakeSupabase()


@pytest.fixture
def gateway(supabase: FakeSupabase) -> Iterator[SupabaseGateway]:
    http = httpx.Client(transport=httpx.MockTransport(supabase.handler))
    gw = SupabaseGateway(URL, ANON_KEY, service_role_key=SERVICE_KEY, http_client=http)
    yield gw
    http.close()


@pytest.fixture
def user() -> Caller:
    return Caller.user(USER_ID, email="coach@example.test", access_token=USER_TOKEN)


@pytest.fixture
def svc(gateway: SupabaseGateway, user: Caller) -> Services:
    return Services(gateway.session(user))
