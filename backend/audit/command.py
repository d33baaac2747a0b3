"""`backend audit`: registered on the command line by `register()`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the `audit` command to the `backend` command line."""
