"""Refusals that only the database can make, reached past the input models.

The input models stop most bad input before the round trip; these requests
go straight through the same gateway session to prove the database's own
answer maps to the same typed error.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.errors import DuplicateParticipant, Forbidden, Unauthenticated, ValidationError
from backend.gateway.base import Rpc, Update, eq
from backend.services import Services
from tests.services.support import hours_from_now


def test_an_end_time_moved_before_the_start_is_a_validation_error(svc, single, ann):
    lesson = svc.lessons.create(
        client_ids=[ann.id], start_time=hours_from_now(24), lesson_type_id=single.id
    )

    with pytest.raises(ValidationError) as caught:
        svc.lessons.update(lesson.id, end_time=lesson.start_time - timedelta(minutes=5))

    assert caught.value.sqlstate == "CB002" and caught.value.key == "invalid_argument"


def test_a_client_listed_twice_is_a_duplicate_participant(svc, single, ann):
    request = Rpc(
        "create_lesson_with_participants",
        {
            "p_client_ids": [str(ann.id), str(ann.id)],
            "p_start_time": hours_from_now(24).isoformat(),
            "p_lesson_type_id": str(single.id),
        },
    )

    with pytest.raises(DuplicateParticipant):
        svc.session.execute(request)


def test_moving_a_client_to_another_coach_is_forbidden(new_coach, svc, ann):
    other = new_coach()

    with pytest.raises(Forbidden):
        svc.session.execute(Update("clients", {"coach_id": str(other.id)}, (eq("id", ann.id),)))


@pytest.mark.direct_only
def test_an_anonymous_caller_can_not_call_a_coachs_function(gateway):
    from backend.gateway.base import Caller

    anon = Services(gateway.session(Caller.anon()))
    request = Rpc("cancel_lesson", {"p_lesson_id": "00000000-0000-4000-8000-000000000000"})

    with pytest.raises((Forbidden, Unauthenticated)):
        anon.session.execute(request)
