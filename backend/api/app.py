"""The ASGI app: FastAPI routes over the services, errors as problem+json, request ids, CORS.

`create_app()` builds the app; the `Backend` (and Stripe, when configured) is
built from the settings when the app starts, or handed in (tests, embedding).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.api import problems
from backend.api.deps import ApiState
from backend.api.routes import accounts, coaching, health, payments
from backend.app import Backend
from backend.config import Settings, get_settings
from backend.errors import BackendError
from backend.observability import REQUEST_ID_HEADER, request_scope
from backend.payments.stripe_api import StripeCheckouts

DESCRIPTION = """\
The server side of the coaching app: everything that needs a secret or a rate
limit, and Stripe's money path. Reads and simple writes that row level security
already guards can go straight to Supabase; see docs/api.md for which is which.

Authenticate with the coach's Supabase access token: `Authorization: Bearer <token>`.
Errors are `application/problem+json` (RFC 9457) with a stable `key`.
"""


class RequestIdMiddleware:
    """Takes `X-Request-Id` from the request (or makes one), scopes the request to it
    (logs, and `request.headers` in the database, hence the audit log) and returns it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope.get("headers", []):
            if name == REQUEST_ID_HEADER.encode():
                incoming = value.decode("latin-1")
                break
        started = False
        with request_scope(incoming) as request_id:

            async def send_with_id(message: Message) -> None:
                nonlocal started
                if message["type"] == "http.response.start":
                    started = True
                    headers = list(message.get("headers", []))
                    headers.append((b"x-request-id", request_id.encode()))
                    message["headers"] = headers
                await send(message)

            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:
                # The last line of defence: a bare 500 problem, never the exception's text.
                if started:
                    raise
                response = await problems.unexpected_error(None, exc)
                await response(scope, receive, send_with_id)


def create_app(
    backend: Backend | None = None,
    *,
    stripe: StripeCheckouts | None = None,
    settings: Settings | None = None,
) -> FastAPI:
    settings = backend.settings if backend is not None else (settings or get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = backend is None
        built = backend or Backend.from_settings(settings)
        app.state.api = ApiState(built, stripe or StripeCheckouts.from_settings(settings))
        try:
            yield
        finally:
            if owned:
                built.close()

    app = FastAPI(
        title="coaching-backend",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    if backend is not None:  # usable without running the lifespan (httpx's ASGI transport)
        app.state.api = ApiState(backend, stripe or StripeCheckouts.from_settings(settings))
    app.add_exception_handler(BackendError, problems.backend_error)
    app.add_exception_handler(RequestValidationError, problems.request_validation_error)
    app.add_exception_handler(HTTPException, problems.http_error)
    for module in (health, accounts, coaching, payments):
        app.include_router(module.router)
    if settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"],
            expose_headers=["X-Request-Id", "Retry-After", "RateLimit", "RateLimit-Policy"],
        )
    app.add_middleware(RequestIdMiddleware)
    return app
