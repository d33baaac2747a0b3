"""`backend stripe reconcile`: settle or fail the checkouts whose webhook never came."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

import typer

from backend.app import Backend
from backend.errors import BackendError
from backend.models import Payment
from backend.payments.reconcile import Reconciler
from backend.payments.stripe_api import StripeCheckouts

DURATION = re.compile(r"^(\d+)([smhd])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """`30m`, `2h`, `1d`, `90s`."""
    match = DURATION.match(text.strip())
    if match is None:
        raise typer.BadParameter("use a number and a unit: 90s, 30m, 2h, 1d")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


def reconcile(
    older_than: Annotated[
        str, typer.Option("--older-than", help="Only pending payments older than this (30m, 2h…).")
    ] = "30m",
) -> None:
    """Ask Stripe about pending checkouts and settle or fail them as their webhook would have."""
    age = parse_duration(older_than)
    backend = Backend.from_settings()
    try:
        stripe = StripeCheckouts.from_settings(backend.settings)
        if stripe is None:
            typer.echo("error: STRIPE_SECRET_KEY is not set", err=True)
            raise typer.Exit(1)

        def progress(payment: Payment, outcome: str) -> None:
            typer.echo(f"{payment.id} {payment.stripe_checkout_session_id}: {outcome}")

        reconciler = Reconciler(backend.gateway.administrative_session(), stripe)
        report = reconciler.run(age, progress=progress)
    except BackendError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        backend.close()
    summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(report.outcomes.items()))
    typer.echo(
        f"{report.examined} pending checkout(s) examined" + (f": {summary}" if summary else "")
    )


def register(app: typer.Typer) -> None:
    """Add `stripe reconcile` to the `backend` command line."""
    stripe_app = typer.Typer(help="Stripe payments.", no_args_is_help=True)
    stripe_app.command("reconcile")(reconcile)
    app.add_typer(stripe_app, name="stripe")
