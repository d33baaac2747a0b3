"""Wiring: settings, a gateway, the rate limiter, token checks, logging and Sentry, built once.

    backend = Backend.from_settings()
    with backend.request(request_id=incoming_id):
        services = backend.services_for_token(authorization, ip=ip, user_agent=ua)
        services.lessons.create(...)

The gateway is the Supabase one when SUPABASE_URL is set, else the direct one
(DATABASE_URL, or the embedded PostgreSQL when that is unset too).
`administrative_services()` runs as `service_role`: only trusted server code
(webhooks, jobs) may use it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from backend.auth import Authenticator, SessionBinder, TokenVerifier, VerifiedToken
from backend.config import Settings, get_settings
from backend.errors import Forbidden
from backend.gateway.base import Caller, Session, SessionTimeouts
from backend.gateway.direct import AsyncDirectGateway, DirectGateway
from backend.gateway.supabase import AsyncSupabaseGateway, SupabaseGateway
from backend.observability import configure_logging, init_sentry, request_scope
from backend.ratelimit import RateLimiter, auth_identifier
from backend.services import AsyncServices, Limiter, Services
from backend.services.accounts import AccountService, AsyncAccountService

log = logging.getLogger(__name__)


def _database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    from backend.db.embedded import start_embedded

    return start_embedded().url("postgres")


def _authenticator(settings: Settings) -> Authenticator | None:
    if not settings.supabase_jwt_secret and not settings.jwks_url:
        return None
    binder = None
    if settings.session_binding:
        binder = SessionBinder.from_settings(settings)
    return Authenticator(TokenVerifier.from_settings(settings), binder)


def _direct_options(settings: Settings, given: dict[str, Any]) -> dict[str, Any]:
    """The direct gateway's timeouts, DATABASE_READ_URL and DATABASE_POOL_MODE ("auto": judged
    from each URL's port) from the settings, unless the caller passed its own."""
    mode = settings.database_pool_mode
    return {
        "timeout": settings.database_pool_timeout_seconds,
        "timeouts": SessionTimeouts.from_settings(settings),
        "read_url": settings.database_read_url,
        "pool_mode": None if mode == "auto" else mode,
        **given,
    }


class Backend:
    """Everything a synchronous entry point needs, built from one settings object."""

    def __init__(
        self,
        settings: Settings,
        gateway: DirectGateway | SupabaseGateway,
        *,
        limiter: Limiter | None = None,
        authenticator: Authenticator | None = None,
    ) -> None:
        self.settings = settings
        self.gateway = gateway
        self.limiter = limiter
        self.authenticator = authenticator

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **gateway_options: Any) -> Backend:
        settings = settings or get_settings()
        configure_logging(settings.log_level)
        init_sentry(settings)
        gateway: DirectGateway | SupabaseGateway
        if settings.supabase_url and settings.supabase_anon_key:
            service_key = settings.supabase_service_role_key
            gateway = SupabaseGateway(
                settings.supabase_url,
                settings.supabase_anon_key.get_secret_value(),
                service_role_key=service_key.get_secret_value() if service_key else None,
                **gateway_options,
            )
        else:
            gateway = DirectGateway(
                _database_url(settings), **_direct_options(settings, gateway_options)
            )
        return cls(
            settings,
            gateway,
            limiter=RateLimiter.from_settings(settings),
            authenticator=_authenticator(settings),
        )

    @contextmanager
    def request(self, request_id: str | None = None) -> Iterator[str]:
        """Scope one incoming request: its id is logged and sent into the database."""
        with request_scope(request_id) as rid:
            yield rid

    def authenticate(
        self, authorization: str | None, *, ip: str = "", user_agent: str = ""
    ) -> VerifiedToken:
        if self.authenticator is None:
            raise Forbidden(
                "token verification is not configured (SUPABASE_JWT_SECRET or a JWKS)",
                key="auth_not_configured",
            )
        return self.authenticator.authenticate(authorization, ip=ip, user_agent=user_agent)

    def services_for_token(
        self, authorization: str | None, *, ip: str = "", user_agent: str = ""
    ) -> Services:
        """The services of the user whose access token this is (verified locally)."""
        token = self.authenticate(authorization, ip=ip, user_agent=user_agent)
        return self.services_for(Caller.from_token(token))

    def services_for(self, caller: Caller) -> Services:
        return Services(self.gateway.session(caller), self.limiter)

    def anonymous_services(self) -> Services:
        return self.services_for(Caller.anon())

    def administrative_services(self) -> Services:
        """Runs as `service_role` (row level security does not apply): trusted server code only."""
        session: Session = self.gateway.administrative_session()
        return Services(session, self.limiter)

    def accounts(self) -> AccountService:
        """Sign-in, sign-up and password reset (needs SUPABASE_URL)."""
        if not isinstance(self.gateway, SupabaseGateway):
            raise Forbidden("sign-in needs Supabase Auth: set SUPABASE_URL", key="no_supabase")
        return AccountService(self.gateway, self.limiter, auth_identifier)

    def close(self) -> None:
        self.gateway.close()


class AsyncBackend:
    """The same wiring for asyncio code."""

    def __init__(
        self,
        settings: Settings,
        gateway: AsyncDirectGateway | AsyncSupabaseGateway,
        *,
        limiter: Limiter | None = None,
        authenticator: Authenticator | None = None,
    ) -> None:
        self.settings = settings
        self.gateway = gateway
        self.limiter = limiter
        self.authenticator = authenticator

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, **gateway_options: Any
    ) -> AsyncBackend:
        settings = settings or get_settings()
        configure_logging(settings.log_level)
        init_sentry(settings)
        gateway: AsyncDirectGateway | AsyncSupabaseGateway
        if settings.supabase_url and settings.supabase_anon_key:
            service_key = settings.supabase_service_role_key
            gateway = AsyncSupabaseGateway(
                settings.supabase_url,
                settings.supabase_anon_key.get_secret_value(),
                service_role_key=service_key.get_secret_value() if service_key else None,
                **gateway_options,
            )
        else:
            gateway = AsyncDirectGateway(
                _database_url(settings), **_direct_options(settings, gateway_options)
            )
        return cls(
            settings,
            gateway,
            limiter=RateLimiter.from_settings(settings),
            authenticator=_authenticator(settings),
        )

    async def services_for_token(
        self, authorization: str | None, *, ip: str = "", user_agent: str = ""
    ) -> AsyncServices:
        if self.authenticator is None:
            raise Forbidden("token verification is not configured", key="auth_not_configured")
        token = await self.authenticator.aauthenticate(authorization, ip=ip, user_agent=user_agent)
        return self.services_for(Caller.from_token(token))

    def services_for(self, caller: Caller) -> AsyncServices:
        return AsyncServices(self.gateway.session(caller), self.limiter)

    def administrative_services(self) -> AsyncServices:
        return AsyncServices(self.gateway.administrative_session(), self.limiter)

    def accounts(self) -> AsyncAccountService:
        if not isinstance(self.gateway, AsyncSupabaseGateway):
            raise Forbidden("sign-in needs Supabase Auth: set SUPABASE_URL", key="no_supabase")
        return AsyncAccountService(self.gateway, self.limiter, auth_identifier)

    async def close(self) -> None:
        await self.gateway.close()
