"""`backend serve`: the HTTP app under uvicorn."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from backend.config import get_settings


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
) -> None:
    """Serve the HTTP app (`backend.api:app`): the API, Stripe's webhooks, /healthz and /readyz."""
    import uvicorn

    settings = get_settings()  # a malformed setting stops here, as one line
    if workers > 1 and not settings.upstash_redis_rest_url:
        typer.echo(
            f"WARNING: {workers} workers without UPSTASH_REDIS_REST_URL: each keeps its own"
            " rate-limit windows, so every limit is multiplied by the number of workers",
            err=True,
        )
    os.environ["WEB_CONCURRENCY"] = str(workers)  # each worker's limiter knows it has siblings
    typer.echo(f"serving backend.api:app on http://{host}:{port} ({workers} worker(s))")
    uvicorn.run(
        "backend.api:app",
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        proxy_headers=False,  # X-Forwarded-For is read by the app, as far as TRUSTED_PROXY_HOPS
        server_header=False,
    )


def register(app: typer.Typer) -> None:
    """Add `serve` to the `backend` command line."""
    app.command("serve")(serve)
