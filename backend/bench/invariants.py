"""What must hold of the data after any traffic, checked from the truth (a superuser's view).

Each invariant is a name and one query that returns the rows breaking it; the
soak (`backend bench soak`) and the property-based tests run them all and
expect none. Row readability is checked in Python: every row the database
holds must parse into the layer's models.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg
import pydantic
from psycopg.rows import dict_row

from backend import models

# The tables whose rows the audit trail covers: those carrying its trigger.
_AUDITED_TABLES = """
select c.relname from pg_catalog.pg_trigger as t
join pg_catalog.pg_class as c on c.oid = t.tgrelid
where t.tgname = 'write_audit_log' and c.relnamespace = 'public'::regnamespace
order by c.relname
"""

# Every balance equals the sum of its unpaid billable charges (the rule of the contract,
# spelled out, not read from the views' own helper).
BALANCES_OFF_THE_RULE = """
select b.client_id, b.unpaid_cents, coalesce(r.unpaid_cents, 0) as by_the_rule
from public.client_balances as b
left join (
    select p.client_id, sum(p.price_cents) as unpaid_cents
    from public.lesson_participants as p
    inner join public.lessons as l on l.id = p.lesson_id
    where p.payment_status = 'unpaid'
      and (l.status in ('completed', 'no_show')
           or (l.status = 'scheduled' and l.end_time < now()))
    group by p.client_id
) as r on r.client_id = b.client_id
where b.unpaid_cents <> coalesce(r.unpaid_cents, 0)
"""

INVARIANTS: Mapping[str, str] = {
    # No row references another coach's row.
    "cross_coach_reference": """
        select p.id from public.lesson_participants as p
        join public.lessons as l on l.id = p.lesson_id
        join public.clients as c on c.id = p.client_id
        where p.coach_id <> l.coach_id or p.coach_id <> c.coach_id
        union all
        select l.id from public.lessons as l
        join public.lesson_types as t on t.id = l.lesson_type_id
        where t.coach_id <> l.coach_id
        union all
        select pay.id from public.payments as pay
        join public.clients as c on c.id = pay.client_id
        where c.coach_id <> pay.coach_id
        union all
        select p.id from public.lesson_participants as p
        join public.payments as pay on pay.id = p.payment_id
        where pay.coach_id <> p.coach_id
    """,
    "balance_off_the_rule": BALANCES_OFF_THE_RULE,
    # Every participant has its lesson (and its lesson's start time).
    "participant_without_lesson": """
        select p.id from public.lesson_participants as p
        left join public.lessons as l on l.id = p.lesson_id
        where l.id is null or p.lesson_start_time is distinct from l.start_time
    """,
    # A paid charge points at a succeeded payment whose amount covers it.
    "paid_without_payment": """
        select p.id from public.lesson_participants as p
        left join public.payments as pay on pay.id = p.payment_id
        where p.payment_status = 'paid' and (pay.id is null or pay.status <> 'succeeded')
    """,
}


def _without_audit(table: str) -> str:
    """Rows of `table` whose latest audit entry is not the row as it is now."""
    return f"""
        select t.id from public.{table} as t
        where not exists (
            select from public.audit_log as a
            where a.table_name = '{table}' and a.record_id = t.id::text
              and a.new_data = pg_catalog.to_jsonb(t)
              and a.id = (select b.id from public.audit_log as b
                          where b.table_name = '{table}' and b.record_id = t.id::text
                          order by b.id desc limit 1))
    """


def broken_invariants(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """How many rows break each invariant (all zero when the data is sound)."""
    counts = {name: len(conn.execute(query).fetchall()) for name, query in INVARIANTS.items()}
    # Every write has its audit entry: each row's latest entry is the row as it is now.
    audited = [row[0] for row in conn.execute(_AUDITED_TABLES).fetchall()]
    counts["write_without_audit"] = sum(
        len(conn.execute(_without_audit(table)).fetchall()) for table in audited
    )
    counts["row_unreadable_by_the_layer"] = unreadable_rows(conn)
    return counts


def unreadable_rows(conn: psycopg.Connection[Any]) -> int:
    """Rows the database holds that the layer could not read (fetch or parse)."""
    unreadable = 0
    with conn.cursor(row_factory=dict_row) as cursor:
        for table, model in models.RELATION_MODELS.items():
            try:
                rows = cursor.execute(f"select * from public.{table}").fetchall()
            except psycopg.DataError:
                unreadable += 1  # a value the driver can not turn into Python at all
                continue
            for row in rows:
                try:
                    model.model_validate(row)
                except pydantic.ValidationError:
                    unreadable += 1
    return unreadable
