"""A local stand-in for Stripe's API (Stripe itself can not be reached from the tests).

A small HTTP server on 127.0.0.1 that implements only what the service calls:
create, retrieve and expire a Checkout Session. It keeps Stripe's rules that
the service relies on (a repeated idempotency key returns the first answer,
an expired or completed session can not be expired) and records every
request, so that tests can assert what the service sent. Tests move a session
to `complete` or `expired` with `complete()` and `expire()`, as a customer or
the passing of time would.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass
class FakeStripe:
    server: ThreadingHTTPServer
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    idempotent: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def creations(self) -> list[Recorded]:
        return [
            r for r in self.requests if r.method == "POST" and r.path == "/v1/checkout/sessions"
        ]

    def complete(self, session_id: str, *, payment_status: str = "paid") -> dict[str, Any]:
        with self.lock:
            session = self.sessions[session_id]
            session.update(
                status="complete",
                payment_status=payment_status,
                payment_intent=session["payment_intent"] or f"pi_{secrets.token_hex(8)}",
            )
            return dict(session)

    def expire(self, session_id: str) -> dict[str, Any]:
        with self.lock:
            self.sessions[session_id]["status"] = "expired"
            return dict(self.sessions[session_id])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- the API ---------------------------------------------------------------------------

    def handle(self, method: str, path: str, params: dict[str, str], headers: dict[str, str]):
        with self.lock:
            self.requests.append(Recorded(method, path, params, headers))
            key = headers.get("idempotency-key")
            if method == "POST" and key and key in self.idempotent:
                return 200, self.idempotent[key]
            status, body = self._route(method, path, params, headers)
            if method == "POST" and key and status == 200:
                self.idempotent[key] = body
            return status, body

    def _route(self, method, path, params, headers):
        parts = path.strip("/").split("/")
        if method == "POST" and parts == ["v1", "checkout", "sessions"]:
            return 200, self._create(params, headers)
        if len(parts) >= 4 and parts[:3] == ["v1", "checkout", "sessions"]:
            session = self.sessions.get(parts[3])
            if session is None or session["account"] != headers.get("stripe-account"):
                return 404, _error("resource_missing", f"No such checkout.session: '{parts[3]}'")
            if method == "GET" and len(parts) == 4:
                return 200, dict(session)
            if method == "POST" and parts[4:] == ["expire"]:
                if session["status"] != "open":
                    return 400, _error("checkout_session_not_open", "Only open sessions expire")
                session["status"] = "expired"
                return 200, dict(session)
        return 404, _error("unknown_path", f"{method} {path} is not faked")

    def _create(self, params: dict[str, str], headers: dict[str, str]) -> dict[str, Any]:
        total, index = 0, 0
        while f"line_items[{index}][price_data][unit_amount]" in params:
            unit = int(params[f"line_items[{index}][price_data][unit_amount]"])
            total += unit * int(params.get(f"line_items[{index}][quantity]", "1"))
            index += 1
        session_id = f"cs_test_{secrets.token_hex(12)}"
        metadata = {
            k[len("metadata[") : -1]: v for k, v in params.items() if k.startswith("metadata[")
        }
        session = {
            "id": session_id,
            "object": "checkout.session",
            "url": f"https://checkout.stripe.test/c/pay/{session_id}",
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": total,
            "currency": params.get("line_items[0][price_data][currency]"),
            "payment_intent": None,
            "client_reference_id": params.get("client_reference_id"),
            "metadata": metadata,
            "expires_at": int(time.time()) + 24 * 3600,
            "account": headers.get("stripe-account"),
        }
        self.sessions[session_id] = session
        return dict(session)


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"type": "invalid_request_error", "code": code, "message": message}}


def start_fake_stripe() -> FakeStripe:
    fake: FakeStripe

    class Handler(BaseHTTPRequestHandler):
        def _serve(self, method: str) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            path, _, query = self.path.partition("?")
            params = dict(parse_qsl(body or query, keep_blank_values=True))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, answer = fake.handle(method, path, params, headers)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.send_header("request-id", f"req_{secrets.token_hex(6)}")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake = FakeStripe(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return fake
