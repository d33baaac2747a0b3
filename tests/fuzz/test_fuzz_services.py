"""Property-based fuzzing of every service method and every RPC function, as a coach.

Whatever the input, a call ends in success or in a typed, documented 4xx
error (never an unmapped exception, never a 500), and after every example:
no row references another coach's row, every balance is the sum of its unpaid
billable charges, every participant has its lesson, every write has its audit
entry, every row the database holds is readable by the layer, and a call that
failed left nothing behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.bench.invariants import broken_invariants
from backend.errors import BackendError, Unavailable
from backend.gateway.base import Caller, Rpc
from backend.gateway.direct import DirectGateway
from backend.services import Services
from backend.services.base import Operation, SyncService

# Tables a failed call must leave as they were (the audit trail included).
WRITTEN = (
    "clients",
    "lesson_types",
    "lessons",
    "lesson_participants",
    "recurring_lessons",
    "payments",
    "audit_log",
    "coaches",
)
COUNTS = "select " + ", ".join(f"(select count(*) from public.{t})" for t in WRITTEN)


class World:
    """Two coaches on one database: `me`, who calls, and `other`, whose rows are a target."""

    def __init__(self, pg, gateway: DirectGateway) -> None:
        self.pg = pg
        admin = pg.admin
        self.me_coach, other_coach = pg.sign_up(), pg.sign_up()
        self.me = Services(gateway.session(Caller.user(self.me_coach.id)))
        other = Services(gateway.session(Caller.user(other_coach.id)))
        self.session = gateway.session(Caller.user(self.me_coach.id))
        self.ids: dict[str, list[uuid.UUID]] = {}
        for who, services in (("me", self.me), ("other", other)):
            client = services.clients.create(first_name=f"{who} client")
            kind = services.lesson_types.create(
                name=f"{who} type", duration_minutes=60, price_cents=2500, max_participants=3
            )
            start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
            lesson = services.lessons.create(
                client_ids=[client.id], start_time=start, lesson_type_id=kind.id
            )
            services.lessons.complete(lesson.id)
            self.ids[who] = [client.id, kind.id, lesson.id]
        del admin

    def known_ids(self) -> list[uuid.UUID]:
        rows = self.pg.admin.execute(
            "select id from public.clients union all select id from public.lessons"
            " union all select id from public.lesson_types union all select id"
            " from public.lesson_participants union all select id from public.payments"
        ).fetchall()
        return [r[0] for r in rows]

    def counts(self) -> tuple[int, ...]:
        return tuple(self.pg.admin.execute(COUNTS).fetchone())

    def check(self) -> None:
        broken = {k: v for k, v in broken_invariants(self.pg.admin).items() if v}
        assert not broken, f"invariants broken: {broken}"


@pytest.fixture
def world(pg) -> Iterator[World]:
    with DirectGateway(pg.url, max_size=2) as gateway:
        yield World(pg, gateway)


# --- values: valid, edge and hostile, mixed -------------------------------------------------

HOSTILE_TEXT = st.sampled_from(
    ["", " ", "\x00", "a\x00b", "\ud800", "'; drop table clients; --", "x" * 20_000, "é" * 300]
)
TEXT = st.one_of(st.text(max_size=60), HOSTILE_TEXT, st.none())
INTS = st.one_of(
    st.integers(-5, 200),
    st.sampled_from([0, -1, 2**31 - 1, 2**31, -(2**63), 10**30, 100_000_001]),
)
TIMES = st.one_of(
    st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    ),
    st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
    ),
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1)),  # naive
)
DATES = st.one_of(st.dates(min_value=date(1, 1, 2)), st.dates(date(2024, 1, 1), date(2030, 1, 1)))
ZONES = st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Mars/Base", "", "\x00"])


def ids(world: World) -> st.SearchStrategy[Any]:
    """Ids of this coach, of the other coach, unknown ones, and things that are no id."""
    return st.one_of(
        st.sampled_from(world.ids["me"]),
        st.sampled_from(world.ids["other"]),
        st.uuids(),
        st.sampled_from([123, None, "nope", "\ud800", "0" * 5000, True, 1.5]),
    )


def id_lists(world: World) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(ids(world), max_size=4), st.lists(st.uuids(), min_size=1001, max_size=1001)
    )


def calls(world: World) -> st.SearchStrategy[tuple[str, Callable[[Services], Any]]]:
    """One service method with fuzzed arguments, named for the failure message."""
    any_id, some_ids = ids(world), id_lists(world)
    me = st.just

    def call(label: str, fn: Callable[..., Any], **kwargs: st.SearchStrategy[Any]):
        return st.fixed_dictionaries(kwargs).map(lambda args: (label, lambda svc: fn(svc, **args)))

    return st.one_of(
        call(
            "clients.create",
            lambda s, **a: s.clients.create(**a),
            first_name=TEXT,
            last_name=TEXT,
            email=TEXT,
            phone=TEXT,
            notes=TEXT,
        ),
        call(
            "clients.update",
            lambda s, i, **a: s.clients.update(i, **a),
            i=any_id,
            first_name=TEXT,
            notes=TEXT,
        ),
        call("clients.get", lambda s, i: s.clients.get(i), i=any_id),
        call("clients.delete", lambda s, i: s.clients.delete(i), i=any_id),
        call(
            "clients.list",
            lambda s, **a: s.clients.list(**a),
            limit=INTS,
            cursor=st.one_of(st.none(), TEXT),
        ),
        call(
            "lesson_types.create",
            lambda s, **a: s.lesson_types.create(**a),
            name=TEXT,
            duration_minutes=INTS,
            price_cents=INTS,
            max_participants=INTS,
        ),
        call(
            "lesson_types.update",
            lambda s, i, **a: s.lesson_types.update(i, **a),
            i=any_id,
            price_cents=INTS,
            name=TEXT,
        ),
        call("lesson_types.delete", lambda s, i: s.lesson_types.delete(i), i=any_id),
        call(
            "lessons.create",
            lambda s, **a: s.lessons.create(**a),
            client_ids=some_ids,
            start_time=TIMES,
            end_time=st.one_of(st.none(), TIMES),
            lesson_type_id=any_id,
            title=TEXT,
            price_cents=st.one_of(st.none(), INTS),
        ),
        call(
            "lessons.update",
            lambda s, i, **a: s.lessons.update(i, **a),
            i=any_id,
            start_time=TIMES,
            end_time=TIMES,
            client_ids=some_ids,
        ),
        call("lessons.cancel", lambda s, i, r: s.lessons.cancel(i, reason=r), i=any_id, r=TEXT),
        call(
            "lessons.complete",
            lambda s, i, a: s.lessons.complete(i, absent_client_ids=a),
            i=any_id,
            a=st.lists(any_id, max_size=2),
        ),
        call(
            "lessons.create_recurring",
            lambda s, **a: s.lessons.create_recurring(**a),
            client_ids=some_ids,
            first_start_time=TIMES,
            duration_minutes=INTS,
            frequency=st.sampled_from(["weekly", "biweekly", "daily"]),
            occurrences=st.one_of(st.none(), INTS),
            until_date=st.one_of(st.none(), DATES),
            timezone=st.one_of(st.none(), ZONES),
        ),
        call(
            "lessons.cancel_recurring",
            lambda s, i, t: s.lessons.cancel_recurring(i, t),
            i=any_id,
            t=st.one_of(st.none(), TIMES),
        ),
        call(
            "payments.record",
            lambda s, **a: s.payments.record(**a),
            client_id=any_id,
            participant_ids=some_ids,
            method=st.sampled_from(["cash", "card", "gold"]),
            note=TEXT,
        ),
        call("payments.charges", lambda s, i: s.payments.charges(i), i=any_id),
        call("reads.balance", lambda s, i: s.reads.balance(i), i=any_id),
        call("reads.history", lambda s, i: s.reads.history(i), i=any_id),
        call("reads.calendar", lambda s, a, b: s.reads.calendar(start=a, end=b), a=TIMES, b=TIMES),
        call(
            "coaches.update",
            lambda s, **a: s.coaches.update(**a),
            full_name=TEXT,
            timezone=ZONES,
            currency=st.sampled_from(["usd", "eur", "US", "€€€"]),
        ),
        me(("reads.dashboard", lambda s: s.reads.dashboard())),
        me(("reads.balances", lambda s: s.reads.balances())),
    )


def _outcome(world: World, name: str, action: Callable[[], Any]) -> None:
    """Run one call: success or a typed 4xx; a failed call changed nothing; invariants hold."""
    before = world.counts()
    try:
        action()
    except BackendError as exc:
        assert not isinstance(exc, Unavailable), f"{name}: {exc!r}"
        assert 400 <= exc.http_status < 500, f"{name}: a {exc.http_status} {exc.key}: {exc}"
        assert world.counts() == before, f"{name} failed ({exc.key}) and left rows behind"
    world.check()


def test_every_service_method_ends_typed_and_keeps_the_invariants(world):
    @given(calls(world))
    def one(named: tuple[str, Callable[[Services], Any]]) -> None:
        name, fn = named
        _outcome(world, name, lambda: fn(world.me))

    one()


# --- every RPC function, called as a coach with values of (and not of) its types ------------

RPCS = """
select p.proname, array(select format_type(t, null) from unnest(p.proargtypes) as t) as types,
       coalesce(p.proargnames, '{}') as names
from pg_catalog.pg_proc as p
where p.pronamespace = 'public'::regnamespace and p.prokind = 'f'
  and pg_catalog.has_function_privilege('authenticated', p.oid, 'execute')
  and p.prorettype <> 'trigger'::regtype
order by 1
"""


def values_for(world: World, sql_type: str) -> st.SearchStrategy[Any]:
    by_type: dict[str, st.SearchStrategy[Any]] = {
        "uuid": ids(world),
        "uuid[]": id_lists(world),
        "text": TEXT,
        "integer": INTS,
        "bigint": INTS,
        "boolean": st.one_of(st.booleans(), st.none(), st.just("yes")),
        "timestamp with time zone": TIMES.map(lambda t: t.isoformat()),
        "date": DATES.map(str),
        "jsonb": st.one_of(
            st.dictionaries(st.text(max_size=8), st.one_of(TEXT, INTS), max_size=3), st.none()
        ),
    }
    return by_type.get(sql_type, st.one_of(TEXT, INTS))


def test_every_rpc_function_ends_typed_and_keeps_the_invariants(world):
    functions = world.pg.admin.execute(RPCS).fetchall()
    assert len(functions) >= 8, functions  # the contract's functions are all here
    service = SyncService(world.session)

    def rpc_calls() -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
        options = []
        for name, types, names in functions:
            params = {
                f"{arg}": values_for(world, sql_type)
                for arg, sql_type in zip(names, types, strict=False)
                if arg
            }
            options.append(st.tuples(st.just(name), st.fixed_dictionaries(params)))
        return st.one_of(options)

    @given(rpc_calls())
    def one(call: tuple[str, dict[str, Any]]) -> None:
        name, params = call
        operation = Operation(Rpc(name, params, returns="rows"), lambda rows: rows)
        _outcome(world, name, lambda: service._call(operation))

    one()
