"""A settled charge (paid, refunded, or in a pending Stripe checkout) is never deleted.

Not directly, not by deleting its lesson, not by service_role: 42501
charge_locked (migration 20261125000850). Unpaid and waived charges stay
deletable, and deleting the coach's account still removes everything of the
coach, settled charges included (the foreign key cascades).
"""

from __future__ import annotations

import pytest

from tests.sql.conftest import (
    NOW,
    book,
    count,
    hours,
    make_client,
    make_lesson_type,
    participant_ids,
    raises_sql,
    rpc_one,
    scalar,
)


@pytest.fixture
def coach(pg):
    return pg.sign_up()


def _charge(pg, coach, client, hours_ago=3):
    lesson = book(pg, coach, [client], NOW - hours(hours_ago), price_cents=4000)
    return participant_ids(pg, lesson["id"])[0]


def _lesson_of(pg, charge):
    return scalar(pg, "select lesson_id from lesson_participants where id = %s", charge)


def _paid(pg, coach, client, hours_ago=3):
    charge = _charge(pg, coach, client, hours_ago)
    with pg.as_coach(coach) as c:
        rpc_one(
            c, "record_payment", p_client_id=client, p_participant_ids=[charge], p_method="cash"
        )
    return charge


def _refunded(pg, coach, client, hours_ago=3):
    charge = _paid(pg, coach, client, hours_ago)
    pg.admin.execute(
        "update lesson_participants set payment_status = 'refunded' where id = %s", (charge,)
    )
    return charge


def _in_checkout(pg, coach, client, hours_ago=3):
    charge = _charge(pg, coach, client, hours_ago)
    with pg.as_service() as c:
        c.execute(
            "select create_stripe_checkout_payment(%s, %s, %s, %s)",
            (coach.id, client, [charge], f"cs_{charge}"),
        )
    assert scalar(pg, "select payment_status from lesson_participants where id = %s", charge) == (
        "unpaid"
    )
    return charge


SETTLED = {"paid": _paid, "refunded": _refunded, "in_checkout": _in_checkout}


@pytest.mark.parametrize("state", SETTLED)
def test_coach_cannot_delete_a_settled_charge(pg, coach, state):
    charge = SETTLED[state](pg, coach, make_client(pg, coach))
    with raises_sql("42501", "charge_locked"), pg.as_coach(coach) as c:
        c.execute("delete from lesson_participants where id = %s", (charge,))
    assert count(pg, "lesson_participants", "id = %s", charge) == 1


@pytest.mark.parametrize("state", SETTLED)
def test_coach_cannot_delete_the_lesson_of_a_settled_charge(pg, coach, state):
    charge = SETTLED[state](pg, coach, make_client(pg, coach))
    lesson = _lesson_of(pg, charge)
    with raises_sql("42501", "charge_locked"), pg.as_coach(coach) as c:
        c.execute("delete from lessons where id = %s", (lesson,))
    assert count(pg, "lessons", "id = %s", lesson) == 1
    assert count(pg, "lesson_participants", "id = %s", charge) == 1


@pytest.mark.parametrize("state", SETTLED)
def test_service_role_cannot_delete_a_settled_charge_or_its_lesson(pg, coach, state):
    charge = SETTLED[state](pg, coach, make_client(pg, coach))
    lesson = _lesson_of(pg, charge)
    with raises_sql("42501", "charge_locked"), pg.as_service() as c:
        c.execute("delete from lesson_participants where id = %s", (charge,))
    with raises_sql("42501", "charge_locked"), pg.as_service() as c:
        c.execute("delete from lessons where id = %s", (lesson,))
    assert count(pg, "lesson_participants", "id = %s", charge) == 1


def test_the_charge_guard_alone_refuses_the_cascade_of_a_lesson_delete(pg, coach):
    # the cascade runs above trigger depth 1, like the coach's deletion's; the
    # charge's own trigger refuses it as long as the coach's row exists (a
    # charge paid after the lesson's check passed is still kept)
    charge = _paid(pg, coach, make_client(pg, coach))
    pg.admin.execute("alter table lessons disable trigger guard_settled_lesson_delete")
    with raises_sql("42501", "charge_locked") as info, pg.as_coach(coach) as c:
        c.execute("delete from lessons where id = %s", (_lesson_of(pg, charge),))
    assert "charge that is paid" in str(info.value)
    assert "lesson with" not in str(info.value)
    assert count(pg, "lesson_participants", "id = %s", charge) == 1


def test_table_owner_cannot_delete_a_settled_charge_either(pg, coach):
    charge = _paid(pg, coach, make_client(pg, coach))
    with raises_sql("42501", "charge_locked"):
        pg.admin.execute("delete from lesson_participants where id = %s", (charge,))
    with raises_sql("42501", "charge_locked"):
        pg.admin.execute("delete from lessons where id = %s", (_lesson_of(pg, charge),))
    assert count(pg, "lesson_participants", "id = %s", charge) == 1


def test_coach_still_deletes_unpaid_and_waived_charges_and_their_lessons(pg, coach):
    ann, bob = make_client(pg, coach, "Ann"), make_client(pg, coach, "Bob")
    unpaid = _charge(pg, coach, ann, hours_ago=3)
    waived = _charge(pg, coach, bob, hours_ago=6)
    pg.admin.execute(
        "update lesson_participants set payment_status = 'waived' where id = %s", (waived,)
    )
    lesson = _lesson_of(pg, _charge(pg, coach, ann, hours_ago=9))
    with pg.as_coach(coach) as c:
        deleted = c.execute(
            "delete from lesson_participants where id = any(%s) returning id", ([unpaid, waived],)
        ).fetchall()
        assert len(deleted) == 2
        assert c.execute("delete from lessons where id = %s returning id", (lesson,)).fetchall()
    assert count(pg, "lesson_participants", "id = any(%s)", [unpaid, waived]) == 0
    assert count(pg, "lessons", "id = %s", lesson) == 0
    assert count(pg, "lesson_participants", "lesson_id = %s", lesson) == 0


def test_a_charge_no_longer_in_a_checkout_is_deletable_again(pg, coach):
    charge = _in_checkout(pg, coach, make_client(pg, coach))
    # what settle_stripe_checkout does to a charge of the checkout it does not pay
    pg.admin.execute("update lesson_participants set payment_id = null where id = %s", (charge,))
    with pg.as_coach(coach) as c:
        c.execute("delete from lesson_participants where id = %s", (charge,))
    assert count(pg, "lesson_participants", "id = %s", charge) == 0


def test_deleting_the_coachs_account_removes_everything_settled_included(pg, coach):
    other = pg.sign_up()
    other_charge = _paid(pg, other, make_client(pg, other))
    client = make_client(pg, coach)
    charges = [
        _paid(pg, coach, client, hours_ago=3),
        _refunded(pg, coach, client, hours_ago=6),
        _in_checkout(pg, coach, client, hours_ago=9),
        _charge(pg, coach, client, hours_ago=12),
    ]
    assert count(pg, "payments", "coach_id = %s", coach.id) == 3
    pg.admin.execute("delete from auth.users where id = %s", (coach.id,))
    for table in ("coaches", "clients", "lessons", "lesson_participants", "payments"):
        column = "id" if table == "coaches" else "coach_id"
        assert count(pg, table, f"{column} = %s", coach.id) == 0, table
    assert count(pg, "lesson_participants", "id = any(%s)", charges) == 0
    # the other coach keeps everything
    assert count(pg, "lesson_participants", "id = %s", other_charge) == 1
    assert count(pg, "payments", "coach_id = %s", other.id) == 1


def test_server_code_deleting_the_coach_row_removes_the_settled_charges(pg, coach):
    charge = _paid(pg, coach, make_client(pg, coach))
    with pg.as_service() as c:
        c.execute("delete from coaches where id = %s", (coach.id,))
    assert count(pg, "lesson_participants", "id = %s", charge) == 0
    assert count(pg, "payments", "coach_id = %s", coach.id) == 0


def test_update_lesson_still_replaces_unpaid_participants(pg, coach):
    ann, bob, cid = (make_client(pg, coach, n) for n in ("Ann", "Bob", "Cid"))
    lt = make_lesson_type(pg, coach, max_participants=3)
    lesson = book(pg, coach, [ann, bob], NOW + hours(48), lesson_type_id=lt)
    with pg.as_coach(coach) as c:
        rpc_one(c, "update_lesson", p_lesson_id=lesson["id"], p_client_ids=[cid])
    clients = pg.admin.execute(
        "select client_id from lesson_participants where lesson_id = %s", (lesson["id"],)
    ).fetchall()
    assert clients == [(cid,)]


def test_update_lesson_cannot_remove_a_participant_in_a_checkout(pg, coach):
    # an ended lesson still scheduled is billable and still editable
    ann, bob = make_client(pg, coach, "Ann"), make_client(pg, coach, "Bob")
    lt = make_lesson_type(pg, coach, max_participants=3)
    lesson = book(pg, coach, [ann, bob], NOW - hours(3), lesson_type_id=lt)
    charge = scalar(
        pg,
        "select id from lesson_participants where lesson_id = %s and client_id = %s",
        lesson["id"],
        ann,
    )
    with pg.as_service() as c:
        c.execute(
            "select create_stripe_checkout_payment(%s, %s, %s, 'cs_update')",
            (coach.id, ann, [charge]),
        )
    with raises_sql("42501", "charge_locked"), pg.as_coach(coach) as c:
        rpc_one(c, "update_lesson", p_lesson_id=lesson["id"], p_client_ids=[bob])
    assert count(pg, "lesson_participants", "lesson_id = %s", lesson["id"]) == 2
