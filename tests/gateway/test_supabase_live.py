"""The service scenarios against a real Supabase project, through PostgREST and Supabase Auth.

Collected only when SUPABASE_URL is set (see conftest), with SUPABASE_ANON_KEY
and SUPABASE_SERVICE_ROLE_KEY, on a project whose database has this schema
(`backend db bundle` then `supabase db push`). Two throwaway users are created
through the Auth admin API, signed in with a password, and deleted afterwards.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from backend.config import load_settings
from backend.errors import CapacityExceeded, DoubleBooking, NotFound, ValidationError
from backend.gateway.base import Caller
from backend.gateway.supabase import SupabaseGateway
from backend.services import Services
from backend.services.accounts import AccountService


def _require(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"SUPABASE_URL is set, so {name} must be set too for the live tests")
    return value


@pytest.fixture(scope="module")
def live_gateway() -> Iterator[SupabaseGateway]:
    settings = load_settings()
    gateway = SupabaseGateway(
        _require("SUPABASE_URL"),
        _require("SUPABASE_ANON_KEY"),
        service_role_key=_require("SUPABASE_SERVICE_ROLE_KEY"),
    )
    assert settings.supabase_url
    yield gateway
    gateway.close()


@pytest.fixture(scope="module")
def coaches(live_gateway: SupabaseGateway) -> Iterator[list[Services]]:
    admin = live_gateway.client_for(Caller.service(), administrative=True).auth.admin
    accounts = AccountService(live_gateway, None, lambda ip, email: f"{ip}:{email}")
    created: list[str] = []
    services: list[Services] = []
    try:
        for _ in range(2):
            email = f"live-{uuid.uuid4().hex[:10]}@example.test"
            password = secrets.token_urlsafe(16)
            user = admin.create_user({"email": email, "password": password, "email_confirm": True})
            created.append(user.user.id)
            signed = accounts.sign_in(email, password, ip="127.0.0.1")
            caller = Caller.user(signed.user_id, email=email, access_token=signed.access_token)
            services.append(Services(live_gateway.session(caller)))
        yield services
    finally:
        for user_id in created:
            admin.delete_user(user_id)


def _start(hours: int) -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=hours)


def test_live_clients_lessons_payments_and_reads(coaches):
    svc, _ = coaches
    ann = svc.clients.create(first_name="Ann")
    bob = svc.clients.create(first_name="Bob")
    single = svc.lesson_types.create(
        name=f"Single {uuid.uuid4().hex[:6]}", duration_minutes=60, price_cents=5000
    )
    past = svc.lessons.create(client_ids=[ann.id], start_time=_start(-3), lesson_type_id=single.id)
    future = svc.lessons.create(
        client_ids=[bob.id], start_time=_start(48), lesson_type_id=single.id
    )

    with pytest.raises(DoubleBooking):
        svc.lessons.create(client_ids=[ann.id], start_time=_start(48), lesson_type_id=single.id)
    with pytest.raises(CapacityExceeded):
        svc.lessons.create(
            client_ids=[ann.id, bob.id], start_time=_start(72), lesson_type_id=single.id
        )
    with pytest.raises(NotFound):
        svc.clients.update(uuid.uuid4(), first_name="Ghost")
    with pytest.raises(ValidationError):
        svc.lessons.create(client_ids=[], start_time=_start(1), end_time=_start(2))

    assert svc.lessons.cancel(future.id, reason="rain").status == "cancelled"
    [charge] = svc.lessons.participants(past.id)
    payment = svc.payments.record(client_id=ann.id, participant_ids=[charge.id], method="cash")
    assert payment.amount_cents == 5000
    assert svc.reads.balance(ann.id).unpaid_cents == 0
    assert svc.reads.dashboard().active_clients == 2


def test_live_coaches_never_see_each_others_rows(coaches):
    first, second = coaches
    mine = first.clients.create(first_name="Mine")

    assert mine.id not in {c.id for c in second.clients.list(include_inactive=True).items}
    with pytest.raises(NotFound):
        second.clients.get(mine.id)
