"""A valid token whose user has no coach account gets `coach_not_found`, whatever it calls."""

from __future__ import annotations

import uuid

import pytest

from backend.errors import CoachNotFound
from backend.gateway.base import Caller
from backend.services import Services


@pytest.fixture
def coachless(pg, gateway) -> Services:
    """A signed-up user whose coaches row is gone (as after a failed sign-up trigger)."""
    user = pg.sign_up()
    pg.admin.execute("delete from public.coaches where id = %s", (user.id,))
    return Services(gateway.session(Caller.user(user.id, email=user.email)))


@pytest.fixture
def stranger(gateway) -> Services:
    """A token's user that Supabase Auth knows but this database does not."""
    return Services(gateway.session(Caller.user(uuid.uuid4(), email="who@example.test")))


@pytest.mark.parametrize("who", ["coachless", "stranger"])
def test_writing_without_a_coach_account_is_coach_not_found(request, who):
    services: Services = request.getfixturevalue(who)

    with pytest.raises(CoachNotFound) as caught:
        services.clients.create(first_name="Ann")

    assert caught.value.key == "coach_not_found"
    assert caught.value.http_status == 403
    assert caught.value.message == "the signed-in user has no coach account"


def test_creating_a_lesson_type_without_a_coach_account_is_coach_not_found(coachless):
    with pytest.raises(CoachNotFound):
        coachless.lesson_types.create(name="Single", duration_minutes=60, price_cents=1)


def test_reading_the_profile_without_a_coach_account_is_coach_not_found(coachless):
    with pytest.raises(CoachNotFound):
        coachless.reads.profile()


def test_reading_the_dashboard_without_a_coach_account_is_coach_not_found(stranger):
    with pytest.raises(CoachNotFound):
        stranger.reads.dashboard()


def test_a_coach_reads_its_own_profile_and_dashboard(svc, coach):
    assert svc.reads.profile().id == coach.id
    assert svc.reads.dashboard().coach_id == coach.id
