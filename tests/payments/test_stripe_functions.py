"""The Stripe functions trust their arguments, so only server code (service_role) may call them."""

from __future__ import annotations

import psycopg
import pytest

CALLS = {
    "record_stripe_event": "select public.record_stripe_event('evt_x', 'customer.created')",
    "finish_stripe_event": "select public.finish_stripe_event('evt_x', 'ignored')",
    "fail_stripe_checkout": "select public.fail_stripe_checkout('evt_x', 'cs_x')",
    "refund_stripe_payment": "select public.refund_stripe_payment('evt_x', 'pi_x', 100)",
    "create_stripe_checkout_payment": (
        "select public.create_stripe_checkout_payment(gen_random_uuid(), gen_random_uuid(),"
        " array[gen_random_uuid()], 'cs_x', gen_random_uuid())"
    ),
}


@pytest.mark.parametrize("function", sorted(CALLS))
def test_a_coach_can_not_call_a_stripe_function(pg, function):
    coach = pg.sign_up()
    with pytest.raises(psycopg.errors.InsufficientPrivilege), pg.as_coach(coach) as conn:
        conn.execute(CALLS[function])


@pytest.mark.parametrize("function", sorted(CALLS))
def test_anon_can_not_call_a_stripe_function(pg, function):
    with pytest.raises(psycopg.errors.InsufficientPrivilege), pg.as_anon() as conn:
        conn.execute(CALLS[function])


def test_a_coach_can_not_forge_an_event_into_stripe_events(pg):
    coach = pg.sign_up()
    with pytest.raises(psycopg.errors.InsufficientPrivilege), pg.as_coach(coach) as conn:
        conn.execute("insert into public.stripe_events (id, type) values ('evt_forged', 'x')")


def test_service_role_records_an_event_once(pg):
    with pg.as_service() as conn:
        first = conn.execute("select public.record_stripe_event('evt_1', 'customer.created')")
        assert first.fetchone()[0] is False
        conn.execute("select public.finish_stripe_event('evt_1', 'ignored')")
        again = conn.execute("select public.record_stripe_event('evt_1', 'customer.created')")
        assert again.fetchone()[0] is True


def test_a_negative_refund_is_refused(pg):
    with pytest.raises(psycopg.Error) as refused, pg.as_service() as conn:
        conn.execute("select public.refund_stripe_payment('evt_1', 'pi_1', -1)")
    assert refused.value.sqlstate == "CB002"
