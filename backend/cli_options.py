"""Options more than one command module declares, spelled once."""

from __future__ import annotations

from typing import Annotated

import typer

DbUrl = Annotated[
    str | None,
    typer.Option("--db-url", help="PostgreSQL URL (default: DATABASE_URL, else the embedded one)."),
]
