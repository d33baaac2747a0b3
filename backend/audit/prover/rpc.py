"""RPC functions called with another coach's ids, and by anon.

Every function of the exposed schemas that an API role may execute is found
in the catalog. Its uuid parameters are filled by name with the victim's row
ids (p_client_id, p_client_ids, p_lesson_id … name the table), the others
with generated values or `[functions.<name>]` overrides from audit.toml. The
call must fail, or change nothing of the victim's, link none of the
attacker's rows to the victim's, and return none of the victim's data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from backend.audit.catalog import Catalog
from backend.audit.prover.fixtures import Fixtures
from backend.audit.prover.matrix import ANON, Cast
from backend.audit.prover.probe import Actor, Prober
from backend.audit.prover.rules import RPC_CROSS_TENANT
from backend.audit.prover.shapes import Column
from backend.audit.prover.values import generate, literal

_FUNCTIONS = """
select p.oid, n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid),
       coalesce(p.proargnames, '{}'), coalesce(p.proargmodes::text[], '{}'), p.pronargs,
       p.pronargdefaults,
       pg_catalog.has_function_privilege('authenticated', p.oid, 'EXECUTE')
from pg_catalog.pg_proc p
join pg_catalog.pg_namespace n on n.oid = p.pronamespace
where n.nspname = any(%(schemas)s) and p.prokind = 'f'
  and p.prorettype not in ('pg_catalog.trigger'::regtype, 'pg_catalog.event_trigger'::regtype)
  and not exists (select from pg_catalog.pg_depend d
                  where d.classid = 'pg_catalog.pg_proc'::regclass
                    and d.objid = p.oid and d.deptype = 'e')
  and (pg_catalog.has_function_privilege('anon', p.oid, 'EXECUTE')
       or pg_catalog.has_function_privilege('authenticated', p.oid, 'EXECUTE'))
order by 2, 3, 4
"""
_ARG_TYPES = """
select pg_catalog.format_type(u.t, null), pg_catalog.format_type(bt.oid, null),
       bt.typcategory::text, bt.typtype::text,
       case when bt.typtype = 'e' then array(
           select e.enumlabel::text from pg_catalog.pg_enum e
           where e.enumtypid = bt.oid order by e.enumsortorder) end,
       et.oid is not null, pg_catalog.format_type(et.oid, null)
from pg_catalog.pg_proc p
cross join lateral unnest(p.proargtypes::oid[]) with ordinality as u(t, i)
join pg_catalog.pg_type ty on ty.oid = u.t
join pg_catalog.pg_type bt on bt.oid = coalesce(nullif(ty.typbasetype, 0), ty.oid)
left join pg_catalog.pg_type et on et.oid = bt.typelem and bt.typcategory = 'A'
where p.oid = %s
order by u.i
"""


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    column: Column
    is_array: bool
    element: str | None
    has_default: bool


@dataclass(frozen=True)
class Function:
    schema: str
    name: str
    signature: str
    params: tuple[Param, ...]
    authenticated: bool

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}({self.signature})"


def discover(conn: psycopg.Connection[Any], catalog: Catalog) -> list[Function]:
    found = []
    for oid, schema, name, signature, names, modes, nargs, ndefaults, auth in conn.execute(
        _FUNCTIONS, {"schemas": list(catalog.config.schemas)}
    ).fetchall():
        if "v" in modes:
            continue  # variadic: not callable by name through PostgREST either
        in_names = (
            [n for n, m in zip(names, modes, strict=False) if m in ("i", "b")]
            if modes
            else list(names)
        )
        types = conn.execute(_ARG_TYPES, (oid,)).fetchall()
        params = []
        for i, (type_, base, category, typtype, labels, is_array, element) in enumerate(types):
            pname = in_names[i] if i < len(in_names) and in_names[i] else f"${i + 1}"
            column = Column(
                pname,
                type_,
                base,
                category,
                typtype,
                tuple(labels or ()),
                True,
                False,
                "",
                "",
                i + 1,
                False,
                False,
            )
            params.append(
                Param(pname, type_, column, bool(is_array), element, i >= nargs - ndefaults)
            )
        found.append(Function(schema, name, signature, tuple(params), bool(auth)))
    return found


def id_table(param: str, tables: list[str]) -> str | None:
    """The table whose ids a parameter takes, by name: p_client_ids -> clients."""
    stem = param.lower().lstrip("_").removeprefix("p_")
    for suffix in ("_ids", "_id"):
        if stem.endswith(suffix):
            stem = stem.removesuffix(suffix)
            break
    else:
        return None
    words = stem.split("_")
    for start in range(len(words)):
        s = "_".join(words[start:])
        for table in tables:
            name = table.rpartition(".")[2]
            if name in (s, f"{s}s", f"{s}es") or name.endswith((f"_{s}s", f"_{s}es")):
                return table
    return None


class RpcProof:
    def __init__(
        self,
        conn: psycopg.Connection[Any],
        catalog: Catalog,
        fixtures: Fixtures,
        prober: Prober,
        cast: Cast,
        progress: Callable[[str], None],
    ) -> None:
        self.conn = conn
        self.catalog = catalog
        self.fx = fixtures
        self.prober = prober
        self.cast = cast
        self.progress = progress
        self.owned = [r.qualified for r in catalog.tables if r.table_class and r.table_class.owned]

    # -- what the victim has -----------------------------------------------------------------
    def _union(self) -> sql.Composable:
        parts = []
        for table in self.owned:
            shape = self.fx.shape(table)
            owner = self.fx.owner_column(table) or "id"
            type_ = shape.columns[owner].type
            # only the two coaches' rows: the audited database may be big
            parts.append(
                sql.SQL(
                    "select pg_catalog.to_jsonb(t)::text as x, t.{}::text as owner from {} as t"
                    " where t.{} in ({}, {})"
                ).format(
                    sql.Identifier(owner),
                    shape.ident,
                    sql.Identifier(owner),
                    literal(self.cast.a_id, type_),
                    literal(self.cast.b_id, type_),
                )
            )
        return sql.SQL(" union all ").join(parts)

    def state(self, victim_pattern: str) -> tuple[Any, ...]:
        """The digest of each coach's rows and how many of A's rows mention B's ids."""
        row = self.conn.execute(
            sql.SQL(
                "select md5(coalesce(string_agg(x, ',' order by x)"
                " filter (where owner = %(a)s), '')),"
                " md5(coalesce(string_agg(x, ',' order by x) filter (where owner = %(b)s), '')),"
                " count(*) filter (where owner = %(a)s and x ~ %(pattern)s)"
                " from ({}) as s"
            ).format(self._union()),
            {"a": self.cast.a_id, "b": self.cast.b_id, "pattern": victim_pattern},
        ).fetchone()
        assert row is not None
        return tuple(row)

    # -- calls --------------------------------------------------------------------------------
    def arguments(self, fn: Function, owner: str, seq: int) -> sql.Composable:
        overrides = self.catalog.config.functions.get(fn.name, {})
        args = []
        for p in fn.params:
            if p.name.startswith("$"):
                return sql.SQL("")  # unnamed parameters: not callable through the API
            table = (
                id_table(p.name, self.owned) if p.column.base_type in ("uuid", "uuid[]") else None
            )
            if p.name in overrides:
                value: sql.Composable = sql.SQL(overrides[p.name])
            elif table is not None:
                shape = self.fx.shape(table)
                key = shape.primary_key[0] if len(shape.primary_key) == 1 else "id"
                row = self.fx.base(table, owner)
                ident = row.get(key)
                value = literal(f"{{{ident}}}" if p.is_array else ident, p.type)
            elif p.has_default:
                continue
            elif p.is_array:
                value = literal("{}", p.type)
            else:
                value = literal(generate(p.column, seq), p.type)
            args.append(sql.SQL("{} => {}").format(sql.Identifier(p.name), value))
        return sql.SQL(", ").join(args)

    def call(self, fn: Function, owner: str, seq: int) -> sql.Composed:
        return sql.SQL("select pg_catalog.to_jsonb(r)::text from {}({}) as r").format(
            sql.Identifier(fn.schema, fn.name), self.arguments(fn, owner, seq)
        )

    def run(self, victim_ids: set[str], all_ids: set[str], wanted: Callable[[str], bool]) -> int:
        functions = [f for f in discover(self.conn, self.catalog) if wanted(f.qualified)]
        c = self.cast
        victim_pattern = "|".join(sorted(victim_ids)) or "^$"
        before = self.state(victim_pattern)
        for seq, fn in enumerate(functions, start=1000):
            results = []
            attackers: list[tuple[Actor, set[str]]] = [(ANON, all_ids)]
            if fn.authenticated:
                attackers.insert(0, (c.a, victim_ids))
            for actor, ids in attackers:
                outcome, after = self.prober.run_as(
                    actor, self.call(fn, c.b_id, seq), after=lambda: self.state(victim_pattern)
                )
                problems = []
                if outcome.error is None:
                    if after[1] != before[1]:
                        problems.append("changed coach B's rows")
                    if actor is ANON and after[0] != before[0]:
                        problems.append("changed coach A's rows")
                    if after[2] != before[2]:
                        problems.append("linked coach A's rows to coach B's")
                    seen = [i for i in ids if i in outcome.text]
                    if seen:
                        problems.append("returned coach B's data")
                if problems:
                    self.prober.record(
                        RPC_CROSS_TENANT.finding(
                            fn.qualified,
                            f"{actor.label} called {fn.name} with coach B's ids and it "
                            + ", ".join(problems),
                        )
                    )
                    verdict = "LEAK"
                else:
                    verdict = "refused" if outcome.error else "harmless"
                results.append(f"{actor.label}: {verdict}")
                self.prober.tally.cells.append(
                    (
                        fn.qualified,
                        "execute",
                        f"{actor.label}: call with coach B's ids",
                        verdict,
                    )
                )
            if fn.authenticated:
                control, _ = self.prober.run_as(c.a, self.call(fn, c.a_id, seq))
                state = (
                    "ok"
                    if control.error is None
                    else f"failed ({control.sqlstate}: {control.error})"
                )
                results.append(f"control (coach A, own ids): {state}")
                self.prober.tally.cells.append(
                    (fn.qualified, "execute", "coach A: call with its own ids (control)", state)
                )
            self.progress(f"dynamic: rpc {fn.name}: " + "; ".join(results))
        return len(functions)
