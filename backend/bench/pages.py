"""The page queries the frontend runs, as PostgREST sends them, and their hand-filtered twins.

Each page has two texts: what a coach's request runs (row level security
filters it to the coach) and what the table owner runs with the coach's id
written out (`coach_id = …`). Their ratio is what row level security costs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageQuery:
    name: str
    as_coach: str
    as_owner: str


def _calendar(where_owner: str) -> str:
    return f"""
select
    l.*,
    coalesce((
        select json_agg(json_build_object(
            'client_id', p.client_id, 'price_cents', p.price_cents,
            'payment_status', p.payment_status
        ))
        from public.lesson_participants as p
        where p.lesson_id = l.id and p.coach_id = l.coach_id
    ), '[]') as lesson_participants
from public.lessons as l
where {where_owner}l.start_time >= now() and l.start_time < now() + interval '7 days'
order by l.start_time
"""


PAGE_QUERIES: tuple[PageQuery, ...] = (
    PageQuery(
        "client_balances",
        "select * from public.client_balances order by unpaid_cents desc, first_name, client_id",
        "select * from public.client_balances where coach_id = %(coach_id)s"
        " order by unpaid_cents desc, first_name, client_id",
    ),
    PageQuery(
        "coach_dashboard",
        "select * from public.coach_dashboard",
        "select * from public.coach_dashboard where coach_id = %(coach_id)s",
    ),
    PageQuery(
        "calendar_next_7_days",
        _calendar(""),
        _calendar("l.coach_id = %(coach_id)s and "),
    ),
    PageQuery(
        "lesson_history_page",
        "select * from public.lesson_history order by start_time desc limit 50",
        "select * from public.lesson_history where coach_id = %(coach_id)s"
        " order by start_time desc limit 50",
    ),
    PageQuery(
        "clients_by_name",
        "select * from public.clients order by first_name, last_name limit 50",
        "select * from public.clients where coach_id = %(coach_id)s"
        " order by first_name, last_name limit 50",
    ),
)

# What the original app did for its dashboard: one request per client.
ONE_BALANCE = "select * from public.client_balances where client_id = %(client_id)s"
CLIENT_IDS = "select id from public.clients order by first_name"
