"""Errors as `application/problem+json` (RFC 9457), built from the typed exception alone.

One mapping: a `BackendError` carries its HTTP status and stable key; request
validation by FastAPI becomes a 422 with one message per field; anything
unexpected is a bare 500. The response never carries a stack trace, SQL or a
driver's text: `detail` is the typed error's own message, and for a 500 not
even that.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from backend.errors import BackendError, RateLimited, ValidationError
from backend.observability import current_request_id, report_unexpected

log = logging.getLogger("backend.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://coaching-backend.dev/problems/"


class Problem(BaseModel):
    """The body of every error response (RFC 9457, with this API's `key` and `request_id`)."""

    type: str = Field(description="A URI naming the kind of problem (its `key`)")
    title: str
    status: int
    detail: str | None = None
    key: str = Field(description="Stable machine-readable key (docs/errors.md)")
    errors: dict[str, str] | None = Field(
        default=None, description="Per-field messages of a validation problem"
    )
    request_id: str | None = None


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}}
    for status in (401, 404, 409, 422, 429, 503)
}


def problem_response(
    status: int,
    key: str,
    detail: str | None,
    *,
    errors: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = Problem(
        type=PROBLEM_TYPE_BASE + key,
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        key=key,
        errors=dict(errors) if errors else None,
        request_id=current_request_id(),
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers or {}),
    )


def rate_limit_headers(exc: RateLimited) -> dict[str, str]:
    """`Retry-After` and the IETF draft's `RateLimit` / `RateLimit-Policy` fields."""
    wait = max(1, math.ceil(exc.retry_after))
    headers = {"Retry-After": str(wait)}
    if exc.limit is not None and exc.window_seconds:
        window = max(1, round(exc.window_seconds))
        name = exc.policy or exc.key
        headers["RateLimit-Policy"] = f'"{name}";q={exc.limit};w={window}'
        headers["RateLimit"] = f'"{name}";r=0;t={wait}'
    return headers


def _public_detail(exc: BackendError) -> str:
    """The message a client may read: ours, never the database's or a driver's own text."""
    if exc.http_status == 503:
        return "a service this request needs is unavailable; try again shortly"
    if exc.sqlstate and not exc.sqlstate.upper().startswith("CB"):
        return f"the database refused the request ({exc.key})"
    return exc.message


async def backend_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BackendError)
    status = exc.http_status
    if status == 500:
        log.error("request failed: %s (%s)", type(exc).__name__, exc.key)
        return problem_response(500, "internal_error", None)
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited):
        headers = rate_limit_headers(exc)
    elif status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    elif status == 503:
        headers = {"Retry-After": "1"}
    errors = exc.fields if isinstance(exc, ValidationError) else None
    return problem_response(status, exc.key, _public_detail(exc), errors=errors, headers=headers)


async def request_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields: dict[str, str] = {}
    for error in exc.errors():
        location = [str(p) for p in error.get("loc", ()) if p not in ("body",)]
        path = ".".join(location) or "__root__"
        fields.setdefault(path, str(error.get("msg", "invalid")).removeprefix("Value error, "))
    summary = "; ".join(f"{k}: {v}" for k, v in fields.items())
    return problem_response(422, "validation_failed", f"invalid input: {summary}", errors=fields)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    key = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem_response(exc.status_code, key, detail, headers=exc.headers)


async def unexpected_error(request: Request | None, exc: Exception) -> JSONResponse:
    log.error("request failed: %s", type(exc).__name__, exc_info=exc)
    report_unexpected(exc, user_id=None)
    return problem_response(500, "internal_error", None)
