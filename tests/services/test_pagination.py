"""Keyset pagination of every list: pages follow each other without gaps or repeats."""

from __future__ import annotations

import pytest

from backend.errors import ValidationError
from backend.gateway.base import Order
from backend.gateway.supabase import _after
from tests.services.support import hours_from_now


def _walk(fetch, limit):
    seen, cursor, pages = [], None, 0
    while True:
        page = fetch(limit=limit, cursor=cursor)
        seen.extend(page.items)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            return seen, pages


def test_walking_the_client_pages_visits_every_client_once_in_name_order(svc):
    names = ["Eve", "Ann", "Dan", "Bob", "Cat", "Ann"]
    for name in names:
        svc.clients.create(first_name=name)

    seen, pages = _walk(svc.clients.list, limit=2)

    assert ([c.first_name for c in seen], pages) == (sorted(names), 3)
    assert len({c.id for c in seen}) == len(names)


def test_a_descending_list_pages_newest_first(svc, single, ann):
    for hours in (-30, -20, -10):
        lesson = svc.lessons.create(
            client_ids=[ann.id], start_time=hours_from_now(hours), lesson_type_id=single.id
        )
        svc.lessons.complete(lesson.id)

    seen, _ = _walk(lambda **kw: svc.reads.history(ann.id, **kw), limit=1)

    starts = [h.start_time for h in seen]
    assert starts == sorted(starts, reverse=True) and len(starts) == 3


def test_the_last_page_has_no_next_cursor(svc, ann):
    assert svc.clients.list(limit=5).next_cursor is None


@pytest.mark.parametrize("limit", [0, 201])
def test_a_page_size_outside_1_to_200_is_refused(offline, limit):
    with pytest.raises(ValidationError) as refused:
        offline.clients.list(limit=limit)
    assert "limit" in refused.value.fields


@pytest.mark.parametrize("cursor", ["not-a-cursor", "W10", "WyJhIl0"])
def test_a_cursor_this_list_did_not_make_is_refused(offline, cursor):
    with pytest.raises(ValidationError) as refused:
        offline.clients.list(cursor=cursor)
    assert "cursor" in refused.value.fields


def test_postgrest_keyset_filter_quotes_values_and_follows_directions():
    order = (Order("start_time", descending=True), Order("id"))

    assert _after(order, ["2030-01-01T10:00:00+00:00", 'a"b']) == (
        'start_time.lt."2030-01-01T10:00:00+00:00",'
        'and(start_time.eq."2030-01-01T10:00:00+00:00",id.gt."a\\"b")'
    )
