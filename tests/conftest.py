"""Suite-wide guard: every balance equals the sum of its unpaid billable charges,
and every charge's copy of its lesson's start time is that start time.

Checked after every transaction a test runs through `pg.acting_as` (so after
every write of the SQL tests) and once more when the test ends (writes through
the gateways included). The rule is spelled out here from the contract, not
read from `private.is_billable`, so the views are checked against it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from backend.bench.invariants import BALANCES_OFF_THE_RULE
from backend.testing import TestDatabase

DASHBOARDS_OFF_THE_BALANCES = """
select d.coach_id, d.outstanding_cents, d.clients_with_balance
from public.coach_dashboard as d
left join (
    select coach_id, sum(unpaid_cents) as owed, count(*) filter (where unpaid_cents > 0) as owing
    from public.client_balances
    group by coach_id
) as b on b.coach_id = d.coach_id
where d.outstanding_cents <> coalesce(b.owed, 0) or d.clients_with_balance <> coalesce(b.owing, 0)
"""


CHARGES_OFF_THEIR_LESSON = """
select p.id, p.lesson_start_time, l.start_time
from public.lesson_participants as p
inner join public.lessons as l on l.id = p.lesson_id
where p.lesson_start_time is distinct from l.start_time
"""


def assert_balances_hold(pg: TestDatabase) -> None:
    conn = pg.admin
    views = conn.execute(
        "select to_regclass('public.client_balances') is not null"
        " and to_regclass('public.coach_dashboard') is not null"
    ).fetchone()
    if not views or not views[0]:
        return  # a test of the migration machinery left no views to check
    off = conn.execute(BALANCES_OFF_THE_RULE).fetchall()
    assert not off, f"balances that are not the sum of unpaid billable charges: {off}"
    off = conn.execute(DASHBOARDS_OFF_THE_BALANCES).fetchall()
    assert not off, f"dashboards that disagree with the balances: {off}"
    off = conn.execute(CHARGES_OFF_THEIR_LESSON).fetchall()
    assert not off, f"charges whose copy of the lesson's start time is stale: {off}"


@pytest.fixture(autouse=True)
def balances_hold(request: pytest.FixtureRequest) -> Iterator[None]:
    if "pg" not in request.fixturenames:
        yield
        return
    pg: TestDatabase = request.getfixturevalue("pg")
    acting_as = pg.acting_as

    @contextmanager
    def checked(*args: Any, **kwargs: Any) -> Iterator[Any]:
        with acting_as(*args, **kwargs) as conn:
            yield conn
        assert_balances_hold(pg)

    pg.acting_as = checked  # type: ignore[method-assign]
    yield
    assert_balances_hold(pg)
