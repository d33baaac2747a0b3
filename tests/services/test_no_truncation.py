"""No list is cut silently: its pages reach every row; PostgREST's 1,000-row cap is paged
through; an explicit limit holds.

Runs through both gateways on the same real database (conftest): the direct
one has no cap; the Supabase one meets the stand-in's `db-max-rows` of 1,000.
"""

from __future__ import annotations

from backend.gateway.base import Order, Select


def _seed_clients(pg, coach, n):
    pg.admin.execute(
        "insert into public.clients (coach_id, first_name)"
        " select %s, 'Client ' || lpad(i::text, 4, '0') from generate_series(1, %s) as i",
        (coach.id, n),
    )


def test_a_coach_with_1001_clients_gets_all_1001(pg, coach, svc):
    _seed_clients(pg, coach, 1001)

    clients, cursor = [], None
    while True:
        page = svc.clients.list(limit=200, cursor=cursor)
        clients.extend(page.items)
        if (cursor := page.next_cursor) is None:
            break

    assert len(clients) == 1001
    assert len({c.id for c in clients}) == 1001
    assert clients[-1].first_name == "Client 1001"


def test_a_limit_above_the_cap_is_honoured_in_full(pg, coach, svc):
    _seed_clients(pg, coach, 1005)

    rows = svc.session.execute(Select("clients", order=(Order("first_name"),), limit=1002))

    assert len(rows) == 1002


def test_an_explicit_limit_below_the_cap_is_one_page(pg, coach, svc):
    _seed_clients(pg, coach, 30)

    rows = svc.session.execute(Select("clients", order=(Order("first_name"),), limit=5))

    assert [r["first_name"] for r in rows] == [f"Client {i:04d}" for i in range(1, 6)]
