"""Payments through the direct gateway: the database computes the amount; refusals are typed."""

from __future__ import annotations

import uuid

import pytest

from backend.errors import AlreadyPaid, ChargeNotPayable, NotFound, ValidationError
from tests.services.support import hours_from_now


@pytest.fixture
def past_charge(svc, single, ann):
    """Ann's unpaid 50.00 charge for a lesson that has ended."""
    lesson = svc.lessons.create(
        client_ids=[ann.id], start_time=hours_from_now(-3), lesson_type_id=single.id
    )
    return svc.lessons.participants(lesson.id)[0]


def test_recording_a_payment_settles_the_charges_for_their_sum(svc, ann, past_charge):
    payment = svc.payments.record(
        client_id=ann.id, participant_ids=[past_charge.id], method="cash", note="at the court"
    )

    assert (payment.amount_cents, payment.status, payment.method) == (5000, "succeeded", "cash")
    assert svc.payments.charges(ann.id, status="paid").items[0].payment_id == payment.id


def test_a_paid_charge_leaves_the_clients_balance(svc, ann, past_charge):
    assert svc.reads.balance(ann.id).unpaid_cents == 5000

    svc.payments.record(client_id=ann.id, participant_ids=[past_charge.id], method="card")

    assert svc.reads.balance(ann.id).unpaid_cents == 0


def test_paying_a_charge_twice_is_already_paid(svc, ann, past_charge):
    svc.payments.record(client_id=ann.id, participant_ids=[past_charge.id], method="cash")

    with pytest.raises(AlreadyPaid):
        svc.payments.record(client_id=ann.id, participant_ids=[past_charge.id], method="cash")


def test_a_lesson_that_has_not_happened_yet_is_not_payable(svc, single, ann):
    lesson = svc.lessons.create(
        client_ids=[ann.id], start_time=hours_from_now(24), lesson_type_id=single.id
    )
    charge = svc.lessons.participants(lesson.id)[0]

    with pytest.raises(ChargeNotPayable):
        svc.payments.record(client_id=ann.id, participant_ids=[charge.id], method="cash")


def test_another_clients_charge_is_not_payable_by_this_client(svc, bob, past_charge):
    with pytest.raises((ChargeNotPayable, NotFound)):
        svc.payments.record(client_id=bob.id, participant_ids=[past_charge.id], method="cash")


def test_an_empty_charge_list_is_refused_before_the_round_trip(offline):
    with pytest.raises(ValidationError) as caught:
        offline.payments.record(client_id=uuid.uuid4(), participant_ids=[], method="cash")

    assert "participant_ids" in caught.value.fields


def test_an_unknown_payment_method_is_refused_before_the_round_trip(offline):
    with pytest.raises(ValidationError) as caught:
        offline.payments.record(
            client_id=uuid.uuid4(), participant_ids=[uuid.uuid4()], method="bitcoin"
        )

    assert "method" in caught.value.fields


def test_a_missing_client_is_not_found(svc, past_charge):
    with pytest.raises(NotFound):
        svc.payments.record(client_id=uuid.uuid4(), participant_ids=[past_charge.id], method="cash")


def test_payments_are_listed_newest_first_and_readable_one_by_one(svc, ann, past_charge):
    payment = svc.payments.record(client_id=ann.id, participant_ids=[past_charge.id], method="cash")

    assert [p.id for p in svc.payments.list(ann.id).items] == [payment.id]
    assert svc.payments.get(payment.id) == payment


def test_money_is_exact_integer_cents(svc, ann, pair, bob):
    lesson = svc.lessons.create(
        client_ids=[ann.id, bob.id],
        start_time=hours_from_now(-5),
        lesson_type_id=pair.id,
        price_cents=1999,
    )
    charge = next(p for p in svc.lessons.participants(lesson.id) if p.client_id == ann.id)

    payment = svc.payments.record(client_id=ann.id, participant_ids=[charge.id], method="other")

    assert payment.amount_cents == 1999 and isinstance(payment.amount_cents, int)
