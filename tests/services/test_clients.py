"""Clients through the direct gateway, as an impersonated coach."""

from __future__ import annotations

import uuid

import pytest

from backend.errors import (
    Forbidden,
    NotFound,
    ReferenceViolation,
    Unauthenticated,
    ValidationError,
)
from backend.gateway.base import Caller
from backend.services import Services
from tests.services.support import hours_from_now


def test_coach_creates_a_client_that_belongs_to_the_coach(svc, coach):
    client = svc.clients.create(first_name="  Ann ", last_name="Lee", email="ann@example.test")

    assert (client.coach_id, client.first_name, client.is_active) == (coach.id, "Ann", True)


def test_get_returns_the_stored_client(svc):
    created = svc.clients.create(first_name="Ann", phone="+33 6 12 34 56 78")

    assert svc.clients.get(created.id) == created


def test_blank_first_name_is_refused_before_the_round_trip(offline):
    with pytest.raises(ValidationError) as caught:
        offline.clients.create(first_name="   ", email="not-an-email")

    assert set(caught.value.fields) == {"first_name", "email"}


def test_unknown_fields_are_refused_not_dropped(offline):
    with pytest.raises(ValidationError) as caught:
        offline.clients.create(first_name="Ann", coach_id=str(uuid.uuid4()))

    assert "coach_id" in caught.value.fields


def test_update_changes_only_the_given_fields(svc):
    client = svc.clients.create(first_name="Ann", last_name="Lee", notes="left-handed")

    updated = svc.clients.update(client.id, notes="prefers mornings")

    assert (updated.last_name, updated.notes) == ("Lee", "prefers mornings")


def test_an_update_with_nothing_to_change_is_a_validation_error(offline):
    with pytest.raises(ValidationError):
        offline.clients.update(uuid.uuid4(), {})


def test_updating_a_missing_client_is_not_found(svc):
    with pytest.raises(NotFound):
        svc.clients.update(uuid.uuid4(), first_name="Ghost")


def test_updating_another_coachs_client_is_not_found_and_changes_nothing(
    new_coach, svc, services_for
):
    other = services_for(new_coach())
    theirs = other.clients.create(first_name="Bob")

    with pytest.raises(NotFound):
        svc.clients.update(theirs.id, first_name="Stolen")

    assert other.clients.get(theirs.id).first_name == "Bob"


def test_deleting_a_missing_client_is_not_found(svc):
    with pytest.raises(NotFound):
        svc.clients.delete(uuid.uuid4())


def test_delete_removes_the_client(svc):
    client = svc.clients.create(first_name="Ann")

    svc.clients.delete(client.id)

    with pytest.raises(NotFound):
        svc.clients.get(client.id)


def test_a_client_with_lessons_can_not_be_deleted(svc):
    client = svc.clients.create(first_name="Ann")
    start = hours_from_now(24)
    svc.lessons.create(client_ids=[client.id], start_time=start, end_time=hours_from_now(25))

    with pytest.raises(ReferenceViolation):
        svc.clients.delete(client.id)


def test_deactivated_clients_leave_the_default_list_but_stay_listable(svc):
    kept = svc.clients.create(first_name="Ann")
    gone = svc.clients.deactivate(svc.clients.create(first_name="Bob").id)

    assert [c.id for c in svc.clients.list().items] == [kept.id]
    assert {c.id for c in svc.clients.list(include_inactive=True).items} == {kept.id, gone.id}


@pytest.mark.direct_only
def test_anonymous_visitor_can_not_create_a_client_and_is_told_to_sign_in(gateway):
    anon = Services(gateway.session(Caller.anon()))

    # PostgREST answers a missing privilege with 401 for anon, 403 for a signed-in user
    with pytest.raises(Unauthenticated):
        anon.clients.create(first_name="Ann")


@pytest.mark.direct_only
def test_a_service_role_caller_must_use_the_administrative_session(gateway):
    with pytest.raises(Forbidden, match="administrative_session"):
        gateway.session(Caller.service())


@pytest.mark.direct_only
def test_the_administrative_session_sees_every_coachs_clients(pg, gateway, services_for):
    services_for(pg.sign_up()).clients.create(first_name="Ann")
    services_for(pg.sign_up()).clients.create(first_name="Bob")

    admin = Services(gateway.administrative_session())

    assert {c.first_name for c in admin.clients.list().items} == {"Ann", "Bob"}
