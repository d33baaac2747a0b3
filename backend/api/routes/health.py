"""Liveness and readiness for the platform that runs the service."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from backend.api.deps import State
from backend.gateway.base import Select
from backend.ratelimit import RateLimiter

log = logging.getLogger("backend.api")

router = APIRouter(tags=["health"])

READINESS_TIMEOUT_SECONDS = 1.0


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = {}


@router.get("/healthz")
async def healthz() -> Health:
    """The process answers."""
    return Health(status="ok")


@router.get("/readyz", responses={503: {"model": Health}})
async def readyz(state: State) -> JSONResponse:
    """The database (and Redis, when rate limits live there) answer within a second."""
    checks = {
        "database": await _check(lambda: _database(state)),
    }
    limiter = state.backend.limiter
    if isinstance(limiter, RateLimiter) and limiter.store_kind == "upstash":
        checks["redis"] = await _check(lambda: _redis(limiter))
    ready = all(v == "ok" for v in checks.values())
    body = Health(status="ok" if ready else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


def _redis(limiter: RateLimiter) -> None:
    # A degraded decision means the store could not be asked.
    if limiter.check("lesson", "readiness-probe").degraded:
        raise ConnectionError("the rate-limit store did not answer")


def _database(state: State) -> object:
    session = state.backend.gateway.administrative_session()
    return session.execute(Select("coaches", (), limit=1))


async def _check(probe: Callable[[], object]) -> str:
    try:
        await asyncio.wait_for(asyncio.to_thread(probe), READINESS_TIMEOUT_SECONDS)
    except TimeoutError:
        return "timeout"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        log.warning("readiness check failed: %s", type(exc).__name__)
        return "unavailable"
    return "ok"
