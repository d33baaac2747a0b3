"""Once through a real server: uvicorn on loopback, a real HTTP client, a signed webhook."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest
import uvicorn

from backend.api.app import create_app
from backend.payments.stripe_api import StripeCheckouts
from tests.api.harness import STRIPE_KEY, event_for, owing_client, signed, token_for


@pytest.fixture
def served(backend, fake_stripe):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(backend, stripe=StripeCheckouts(STRIPE_KEY, api_base=fake_stripe.url))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_checkout_and_its_webhook_through_a_real_server(served, coach, svc, pg, fake_stripe):
    client, _ = owing_client(svc, lessons=1)
    with httpx.Client(base_url=served, timeout=10) as http:
        assert http.get("/healthz").status_code == 200
        opened = http.post(
            "/payments/checkout",
            json={"client_id": str(client.id)},
            headers={"Authorization": f"Bearer {token_for(coach.id)}"},
        )
        assert opened.status_code == 201, opened.text
        [session_id] = fake_stripe.sessions
        body, headers = signed(
            event_for("checkout.session.completed", fake_stripe.complete(session_id))
        )
        delivered = http.post("/webhooks/stripe", content=body, headers=headers)

    assert (delivered.status_code, delivered.json()["outcome"]) == (200, "settled")
    assert svc.reads.balance(client.id).unpaid_cents == 0
