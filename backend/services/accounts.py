"""Sign-in, sign-up and password reset through Supabase Auth, under the "auth" rate limit.

The limit counts per client IP address and e-mail (`backend.ratelimit.auth_identifier`),
before Supabase Auth is asked, so guessing passwords costs the guesser, not the project.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

import httpx
from supabase_auth.errors import AuthApiError, AuthError, AuthRetryableError

from backend.errors import BackendError, Conflict, Unauthenticated, Unavailable, ValidationError
from backend.models import Email, Input
from backend.services.base import Limiter, parse_input


class AuthIdentifier(Protocol):
    def __call__(self, ip: str, email: str) -> str: ...


@dataclass(frozen=True)
class SignedIn:
    user_id: UUID
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: int | None


class Credentials(Input):
    email: Email
    password: str


def _auth_failed(exc: Exception) -> BackendError:
    if isinstance(exc, AuthRetryableError | httpx.TransportError):
        return Unavailable("Supabase Auth could not be reached", key="auth_unavailable")
    if isinstance(exc, AuthApiError):
        if exc.status in (400, 401) and exc.code in (None, "invalid_credentials"):
            return Unauthenticated("wrong e-mail or password", key="invalid_credentials")
        if exc.code in ("user_already_exists", "email_exists"):
            return Conflict("this e-mail is already registered", key="user_already_exists")
        if exc.code == "weak_password":
            return ValidationError(
                "the password is too weak", key="weak_password", fields={"password": exc.message}
            )
        if exc.status == 429:
            return Unavailable("Supabase Auth is rate limiting", key="auth_rate_limited")
        return Unauthenticated(exc.message, key=str(exc.code or "auth_error"))
    return Unauthenticated(str(exc), key="auth_error")


def _signed_in(response: Any) -> SignedIn:
    session = response.session
    if session is None or response.user is None:
        raise Unauthenticated("Supabase Auth returned no session", key="no_session")
    return SignedIn(
        user_id=UUID(str(response.user.id)),
        access_token=session.access_token,
        refresh_token=session.refresh_token,
        expires_at=session.expires_at,
    )


class AuthClients(Protocol):
    def auth_client(self) -> Any: ...


class AccountService:
    """Supabase Auth calls that an unauthenticated visitor makes, rate limited."""

    def __init__(
        self, clients: AuthClients, limiter: Limiter | None, identifier: AuthIdentifier
    ) -> None:
        self._clients = clients
        self._limiter = limiter
        self._identifier = identifier

    def _limit(self, ip: str, email: str) -> None:
        if self._limiter is not None:
            self._limiter.enforce("auth", self._identifier(ip, email))

    def sign_in(self, email: str, password: str, *, ip: str) -> SignedIn:
        credentials = parse_input(Credentials, email=email, password=password)
        self._limit(ip, credentials.email)
        try:
            response = self._clients.auth_client().auth.sign_in_with_password(
                {"email": credentials.email, "password": credentials.password}
            )
        except (AuthError, httpx.TransportError) as exc:
            raise _auth_failed(exc) from exc
        return _signed_in(response)

    def sign_up(
        self, email: str, password: str, *, ip: str, full_name: str | None = None
    ) -> UUID | None:
        """The new user's id (None when Supabase Auth hides whether the e-mail exists)."""
        credentials = parse_input(Credentials, email=email, password=password)
        self._limit(ip, credentials.email)
        options = {"data": {"full_name": full_name}} if full_name else {}
        try:
            response = self._clients.auth_client().auth.sign_up(
                {"email": credentials.email, "password": credentials.password, "options": options}
            )
        except (AuthError, httpx.TransportError) as exc:
            raise _auth_failed(exc) from exc
        return UUID(str(response.user.id)) if response.user else None

    def sign_out(self, access_token: str) -> None:
        """End the session of this access token (its refresh token stops working)."""
        try:
            self._clients.auth_client().auth.admin.sign_out(access_token, "local")
        except (AuthError, httpx.TransportError) as exc:
            raise _auth_failed(exc) from exc

    def request_password_reset(self, email: str, *, ip: str) -> None:
        address = parse_input(Credentials, email=email, password="-").email
        self._limit(ip, address)
        try:
            self._clients.auth_client().auth.reset_password_for_email(address)
        except (AuthError, httpx.TransportError) as exc:
            raise _auth_failed(exc) from exc


class AsyncAuthClients(Protocol):
    async def auth_client(self) -> Any: ...


class AsyncAccountService:
    """`AccountService` for asyncio code."""

    def __init__(
        self, clients: AsyncAuthClients, limiter: Limiter | None, identifier: AuthIdentifier
    ) -> None:
        self._clients = clients
        self._limiter = limiter
        self._identifier = identifier

    async def _limit(self, ip: str, email: str) -> None:
        if self._limiter is not None:
            await self._limiter.aenforce("auth", self._identifier(ip, email))

    async def sign_in(self, email: str, password: str, *, ip: str) -> SignedIn:
        credentials = parse_input(Credentials, email=email, password=password)
        await self._limit(ip, credentials.email)
        try:
            client = await self._clients.auth_client()
            response = await client.auth.sign_in_with_password(
                {"email": credentials.email, "password": credentials.password}
            )
        except (AuthError, httpx.TransportError) as exc:
            raise _auth_failed(exc) from exc
        return _signed_in(response)

    async def sign_up(
        self, email: str, password: str, *, ip: str, full_name: str | None = None
    ) -> UUID | None:
        credentials = parse_input(Credentials, email=email, password=password)
        await self._limit(ip, credentials.email)
        options = {"data": {"full_name": full_name}} if full_name else {}
        try:
            client = await self._clients.auth_client()
            response = await client.auth.sign_up(
                {"email": credentials.email, "password": credentials.password, "options": options}
            )
        except (AuthError, httpx.TransportError) as exc:
            raise _auth_failed(exc) from exc
        return UUID(str(response.user.id)) if response.user else None

    async def request_password_reset(self, email: str, *, ip: str) -> None:
        address = parse_input(Credentials, email=email, password="-").email
        await self._limit(ip, address)
        try:
            client = await self._clients.auth_client()
            await client.auth.reset_password_for_email(address)
        except (AuthError, httpx.TransportError) as exc:
            raise _auth_failed(exc) from exc
