"""The complete example service of docs/python.md runs, as written, against the real database."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.coach_accounts import dev_token
from backend.config import get_settings

ROOT = Path(__file__).resolve().parents[1]
SECRET = "a-local-development-secret-of-40-chars!!"


def _example_source() -> str:
    text = (ROOT / "docs" / "python.md").read_text()
    section = text.split("## A complete example service", 1)[1]
    return re.findall(r"```python\n(.*?)```", section, re.S)[0]


@pytest.fixture
def example(pg, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in ("SUPABASE_URL", "SUPABASE_ANON_KEY", "UPSTASH_REDIS_REST_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", pg.url)
    monkeypatch.setenv("SUPABASE_JWT_SECRET", SECRET)
    get_settings.cache_clear()
    namespace: dict[str, Any] = {"__name__": "example"}
    exec(compile(_example_source(), "docs/python.md", "exec"), namespace)
    yield Client(namespace["app"])
    namespace["backend"].close()
    get_settings.cache_clear()


class Client:
    """Requests straight into the ASGI app, as a server would hand them over."""

    def __init__(self, app: Any) -> None:
        self._app = app

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self._app)
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
                return await client.request(method, path, **kw)

        return asyncio.run(send())

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)


@pytest.fixture
def owing(pg) -> tuple[str, str, str]:
    """A coach, a client of it, and one billable unpaid charge of 45.00: (token, client, charge)."""
    coach = pg.sign_up(email="ana@example.test")
    with pg.as_coach(coach) as conn:
        client = conn.execute("insert into clients (first_name) values ('Zoe') returning id")
        client_id = client.fetchone()[0]
        lesson = conn.execute(
            "insert into lessons (client_id, start_time, end_time, price_cents, title)"
            " values (%s, now() - interval '2 hours', now() - interval '1 hour', 4500, 'Tennis')"
            " returning id",
            (client_id,),
        ).fetchone()[0]
        charge = conn.execute(
            "insert into lesson_participants (lesson_id, client_id) values (%s, %s) returning id",
            (lesson, client_id),
        ).fetchone()[0]
    token = dev_token(get_settings(), database_url=pg.url, email="ana@example.test")
    return token, str(client_id), str(charge)


def test_the_example_answers_a_coachs_balances(example, owing):
    token, client_id, _ = owing

    response = example.get(
        "/balances", headers={"authorization": f"Bearer {token}", "x-request-id": "req-42"}
    )

    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-42"
    assert [(b["client_id"], b["unpaid_cents"]) for b in response.json()] == [(client_id, 4500)]


def test_the_example_records_a_cash_payment(example, owing):
    token, client_id, charge = owing
    headers = {"authorization": f"Bearer {token}"}

    response = example.post(
        "/payments/cash",
        json={"client_id": client_id, "participant_ids": [charge]},
        headers=headers,
    )

    assert response.status_code == 201
    assert (response.json()["amount_cents"], response.json()["status"]) == (4500, "succeeded")
    assert example.get("/balances", headers=headers).json() == []


def test_the_example_answers_bad_input_with_422_and_the_fields(example, owing):
    token, client_id, _ = owing

    response = example.post(
        "/payments/cash",
        json={"client_id": client_id, "participant_ids": []},
        headers={"authorization": f"Bearer {token}"},
    )

    assert response.status_code == 422
    assert response.json()["error"] == "validation_failed"
    assert set(response.json()["fields"]) == {"participant_ids"}


def test_the_example_answers_no_token_with_401(example):
    response = example.get("/balances")

    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"
