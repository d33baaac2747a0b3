"""Which policies can never admit anon: their condition is null or false without a signed-in user.

A policy `to public using (auth.uid() = user_id)` applies to anon, but for anon
`auth.uid()` is null, the comparison is null and the row is refused. The
audit asks PostgreSQL itself: it writes the policy's condition with anon's
values of Supabase's auth functions (`auth.uid()` null, `auth.role()` 'anon',
`auth.jwt()` anon's claims) and lets the planner fold it. A condition the
planner folds to a constant false or null refuses anon every row; anything it
cannot fold (a predicate function, a column test) is taken to admit anon.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg
from psycopg import sql

# Supabase's auth functions as anon sees them; `(select auth.uid() as uid)` first, the
# form Supabase's advisor recommends, which the planner would keep as an init plan.
_ANON_VALUES = (
    (r"\(\s*select\s+auth\.uid\(\)(\s+as\s+\w+)?\s*\)", "(null::uuid)"),
    (r"\(\s*select\s+auth\.role\(\)(\s+as\s+\w+)?\s*\)", "('anon'::text)"),
    (r"\(\s*select\s+auth\.jwt\(\)(\s+as\s+\w+)?\s*\)", """('{"role": "anon"}'::jsonb)"""),
    (r"auth\.uid\(\)", "(null::uuid)"),
    (r"auth\.role\(\)", "('anon'::text)"),
    (r"auth\.jwt\(\)", """('{"role": "anon"}'::jsonb)"""),
)
_REFUSED = re.compile(r"One-Time Filter: (false|NULL::boolean)\b")

_POLICIES = """
select n.nspname, c.relname, p.polname,
       pg_catalog.pg_get_expr(p.polqual, p.polrelid),
       pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid)
from pg_catalog.pg_policy p
join pg_catalog.pg_class c on c.oid = p.polrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where n.nspname = any(%(schemas)s)
  and (p.polroles = array[0::oid] or p.polroles @> array['anon'::regrole::oid])
order by 1, 2, 3
"""


def as_anon(expression: str) -> str:
    """`expression` with Supabase's auth functions replaced by the values anon gets."""
    for pattern, value in _ANON_VALUES:
        expression = re.sub(pattern, value, expression, flags=re.IGNORECASE)
    return expression


def refuses_anon(conn: psycopg.Connection[Any], table: sql.Composable, expression: str) -> bool:
    """Whether the planner folds `expression`, as anon, to a constant false or null."""
    query = sql.SQL("explain (costs off) select from {} where {}").format(
        table,
        sql.SQL(as_anon(expression)),  # the catalog's own text
    )
    try:
        with conn.transaction():
            plan = "\n".join(str(row[0]) for row in conn.execute(query).fetchall())
    except psycopg.Error:
        return False  # a condition it can not plan is not proven to refuse anon
    return bool(_REFUSED.search(plan))


def anon_refused_policies(conn: psycopg.Connection[Any], schemas: list[str]) -> tuple[str, ...]:
    """The policies applying to anon ("schema.table.policy") whose every condition refuses it."""
    if not _has_anon(conn):
        return ()
    refused = []
    for schema, table, policy, qual, check in conn.execute(_POLICIES, {"schemas": schemas}):
        conditions = [e for e in (qual, check) if e is not None]
        ident = sql.Identifier(schema, table)
        if conditions and all(refuses_anon(conn, ident, e) for e in conditions):
            refused.append(f"{schema}.{table}.{policy}")
    return tuple(refused)


def _has_anon(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("select to_regrole('anon') is not null").fetchone()
    return bool(row and row[0])
