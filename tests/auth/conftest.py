"""Fixtures for token verification: the project's JWKS endpoint, served from memory.

The JWKS endpoint is a Supabase-hosted service, so it is replaced by an httpx
transport serving the public keys of `tests.auth.tokens`; nothing else is mocked.
"""

from __future__ import annotations

import httpx
import pytest

from backend.auth import TokenVerifier
from tests.auth.tokens import JWKS_URL, SECRET, jwks


class JwksServer:
    def __init__(self) -> None:
        self.fetches = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        assert str(request.url) == JWKS_URL
        self.fetches += 1
        return httpx.Response(200, json=jwks())


@pytest.fixture
def jwks_server() -> JwksServer:
    return JwksServer()


@pytest.fixture
def verifier(jwks_server: JwksServer) -> TokenVerifier:
    http = httpx.Client(transport=httpx.MockTransport(jwks_server.handler))
    return TokenVerifier(secret=SECRET, jwks_url=JWKS_URL, http_client=http)
