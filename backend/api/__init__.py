"""The HTTP service: `backend.api:app`, served by `backend serve`.

Importing this module builds the routes only; the database pool and Stripe
client are made when the server starts the app.
"""

from backend.api.app import create_app

app = create_app()

__all__ = ["app", "create_app"]
