"""RPC functions called with another coach's ids, and by anon.

Every function of the exposed schemas is found in the catalog (except those
of extensions and trigger functions) and called by coach A and by anon. Its
uuid parameters are filled by name with the victim's row ids (p_client_id,
p_client_ids, p_lesson_id … name the table), the others with generated values
or `[functions.<name>]` overrides from audit.toml. What the call must do
follows from the catalog:

- a role without EXECUTE must be refused for lack of privilege (42501,
  "permission denied for function"): the call is made, not just the grant read;
- a role with EXECUTE must fail, or change nothing of the victim's, link none
  of the attacker's rows to the victim's, and return none of the victim's data;
- anon may execute only functions declared `access = "public"` in audit.toml.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from backend.audit.catalog import Catalog, id_table
from backend.audit.prover import nearmiss
from backend.audit.prover.canary import Canaries
from backend.audit.prover.escalation import Escalation
from backend.audit.prover.fixtures import FixtureError, Fixtures
from backend.audit.prover.matrix import Cast
from backend.audit.prover.probe import Actor, Outcome, Prober
from backend.audit.prover.rules import (
    FUNCTION_EXECUTABLE_BY_ANON,
    ISOLATION_UNPROVEN,
    RPC_CROSS_TENANT,
    RPC_PRIVILEGE_ESCALATION,
)
from backend.audit.prover.shapes import Column
from backend.audit.prover.sweep import Read
from backend.audit.prover.values import generate, literal

# `[functions.<name>] access = "public"` in audit.toml: anon is meant to call the function
# (the other keys of that table are SQL expressions for parameters).
ACCESS_KEY = "access"
# a parameter named like one of these takes a user's id: the victim's
_USER_STEMS = ("user", "owner", "member", "profile", "uid", "invitee", "target")
# the role a role-like parameter is given: the highest the schema names
_HIGH_ROLES = ("owner", "superuser", "admin", "administrator", "moderator")

_FUNCTIONS = """
select p.oid, n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid),
       coalesce(p.proargnames, '{}'), coalesce(p.proargmodes::text[], '{}'), p.pronargs,
       p.pronargdefaults,
       pg_catalog.has_function_privilege('authenticated', p.oid, 'EXECUTE'),
       pg_catalog.has_function_privilege('anon', p.oid, 'EXECUTE'),
       p.provolatile::text, p.prorettype = 'pg_catalog.bool'::regtype and not p.proretset
from pg_catalog.pg_proc p
join pg_catalog.pg_namespace n on n.oid = p.pronamespace
where (n.nspname = any(%(schemas)s) or p.oid = any(%(reached)s::oid[])) and p.prokind = 'f'
  and p.prorettype not in ('pg_catalog.trigger'::regtype, 'pg_catalog.event_trigger'::regtype)
  and not exists (select from pg_catalog.pg_depend d
                  where d.classid = 'pg_catalog.pg_proc'::regclass
                    and d.objid = p.oid and d.deptype = 'e')
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
    variadic: bool = False


@dataclass(frozen=True)
class Function:
    schema: str
    name: str
    signature: str
    params: tuple[Param, ...]
    authenticated: bool
    anon: bool = False
    volatility: str = "v"
    # not exposed, but reached from this exposed object: called as if it were exposed
    reached_from: str | None = None
    oid: int = 0
    returns_boolean: bool = False

    @property
    def read_only(self) -> bool:
        """STABLE or IMMUTABLE: PostgREST calls it in a read-only transaction."""
        return self.volatility in ("s", "i")

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}({self.signature})"


def discover(
    conn: psycopg.Connection[Any], catalog: Catalog, reached: dict[int, str] | None = None
) -> list[Function]:
    """The functions of the exposed schemas, and those of `reached` (oid: reached from)."""
    reached = reached or {}
    found = []
    rows = conn.execute(
        _FUNCTIONS, {"schemas": list(catalog.config.schemas), "reached": list(reached)}
    ).fetchall()
    for (
        oid,
        schema,
        name,
        signature,
        names,
        modes,
        nargs,
        ndefaults,
        auth,
        anon,
        vol,
        yes_no,
    ) in rows:
        # variadic functions are not callable through PostgREST, but they are still
        # called here (VARIADIC in the call): every function gets its refusal proven
        in_modes = [m for m in modes if m in ("i", "b", "v")] if modes else []
        in_names = (
            [n for n, m in zip(names, modes, strict=False) if m in ("i", "b", "v")]
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
            variadic = i < len(in_modes) and in_modes[i] == "v"
            params.append(
                Param(
                    pname,
                    type_,
                    column,
                    bool(is_array),
                    element,
                    i >= nargs - ndefaults,
                    variadic,
                )
            )
        found.append(
            Function(
                schema,
                name,
                signature,
                tuple(params),
                bool(auth),
                bool(anon),
                str(vol),
                reached.get(int(oid)),
                int(oid),
                bool(yes_no),
            )
        )
    return found


class RpcProof:
    def __init__(
        self,
        conn: psycopg.Connection[Any],
        catalog: Catalog,
        fixtures: Fixtures,
        prober: Prober,
        cast: Cast,
        progress: Callable[[str], None],
        canaries: Canaries | None = None,
    ) -> None:
        self.conn = conn
        self.catalog = catalog
        self.fx = fixtures
        self.prober = prober
        self.cast = cast
        self.progress = progress
        self.canaries = canaries or Canaries()
        # each function called, with the call of coach A's own ids
        self.called: list[tuple[Function, sql.Composed]] = []
        # functions every caller saw refuse (safe near-misses): name (both spellings): detail
        self.cleared: dict[str, str] = {}
        self.owned = [
            r.qualified
            for r in catalog.tables
            if r.table_class and r.table_class.owned and not r.partition_of
        ]
        self.tables = [r.qualified for r in catalog.tables if not r.partition_of]
        self.escalation = Escalation(
            conn, catalog.config.schemas, catalog.config.membership_tables(), tuple(self.owned)
        )

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
        if not parts:
            # no tenant-owned table: nothing of either user's to watch
            return sql.SQL("select null::text as x, null::text as owner where false")
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
        # unnamed parameters: positional, every one given (PostgREST could not call it by name)
        positional = any(p.name.startswith("$") for p in fn.params)
        args = []
        for p in fn.params:
            table = (
                id_table(p.name, self.owned) if p.column.base_type in ("uuid", "uuid[]") else None
            )
            uuid_param = p.column.base_type in ("uuid", "uuid[]")
            if p.name in overrides and p.name != ACCESS_KEY:
                value: sql.Composable = sql.SQL(overrides[p.name])
            elif table is not None:
                shape = self.fx.shape(table)
                key = shape.primary_key[0] if len(shape.primary_key) == 1 else "id"
                row = self.fx.base(table, owner)
                ident = row.get(key)
                value = literal(f"{{{ident}}}" if p.is_array else ident, p.type)
            elif uuid_param and _names_user(p.name):
                value = literal(f"{{{owner}}}" if p.is_array else owner, p.type)
            elif uuid_param and (shared := id_table(p.name, self.tables)) is not None:
                # a row of a table no user owns (an organisation with no declared tenancy)
                shape = self.fx.shape(shared)
                key = shape.primary_key[0] if len(shape.primary_key) == 1 else "id"
                ident = self.fx.base(shared, None).get(key)
                value = literal(f"{{{ident}}}" if p.is_array else ident, p.type)
            elif "email" in p.name.lower() and owner == self.cast.b_id and self.fx.victim_email:
                value = literal(self.fx.victim_email, p.type)
            elif (role := self._high_role(p)) is not None:
                value = literal(role, p.type)
            elif p.has_default and not positional:
                continue
            elif p.is_array:
                value = literal("{}", p.type)
            else:
                value = literal(generate(p.column, seq), p.type)
            if not positional:
                value = sql.SQL("{} => {}").format(sql.Identifier(p.name), value)
            if p.variadic:
                value = sql.SQL("variadic {}").format(value)
            args.append(value)
        return sql.SQL(", ").join(args)

    def _high_role(self, p: Param) -> str | None:
        """The highest role a role-like parameter may name (its enum, or a column's labels)."""
        if "role" not in p.name.lower() or p.is_array:
            return None
        labels = list(p.column.labels)
        if not labels:
            name = p.name.lower().lstrip("_").removeprefix("p_").removeprefix("new_")
            for table in self.tables:
                shape = self.fx.shape(table)
                column = shape.columns.get(name)
                if column is not None and (column.labels or shape.choices.get(name)):
                    labels = list(column.labels or shape.choices[name])
                    break
        ranked = [label for high in _HIGH_ROLES for label in labels if label.lower() == high]
        return ranked[0] if ranked else None

    def call(self, fn: Function, owner: str, seq: int) -> sql.Composed:
        return sql.SQL("select pg_catalog.to_jsonb(r)::text from {}({}) as r").format(
            sql.Identifier(fn.schema, fn.name), self.arguments(fn, owner, seq)
        )

    def declared_public(self, fn: Function) -> bool:
        """`[functions.<name>] access = "public"`: anon is meant to call it."""
        declared = self.catalog.config.functions.get(
            f"{fn.schema}.{fn.name}", self.catalog.config.functions.get(fn.name, {})
        )
        return declared.get(ACCESS_KEY, "").strip().lower() == "public"

    def run(
        self,
        victim_ids: set[str],
        all_ids: set[str],
        wanted: Callable[[str], bool],
        reached: dict[int, str] | None = None,
    ) -> int:
        functions = [
            f
            for f in discover(self.conn, self.catalog, reached)
            if wanted(f.qualified) or (f.reached_from and wanted(f.reached_from))
        ]
        self.called = []
        c = self.cast
        victim_pattern = "|".join(sorted(victim_ids)) or "^$"
        before = self.state(victim_pattern)
        for seq, fn in enumerate(functions, start=1000):
            mark = self.fx.mark()
            try:
                with self.conn.transaction():
                    attack, own = self.call(fn, c.b_id, seq), self.call(fn, c.a_id, seq)
            except (FixtureError, psycopg.Error) as exc:
                self.fx.forget_since(mark)
                # one function's arguments can not be built: say so, and go on with the others
                self.prober.record(
                    ISOLATION_UNPROVEN.finding(
                        fn.qualified, f"could not build the arguments to call {fn.name}: {exc}"
                    )
                )
                self.progress(f"dynamic: rpc {fn.name}: not called ({exc})")
                continue
            self.called.append((fn, own))
            findings_before = self._serious()
            saw: list[str | None] = []
            results = []
            attackers: list[tuple[Actor, set[str], bool]] = [(c.a, victim_ids, fn.authenticated)]
            if not fn.reached_from:
                # judged as if exposed to coaches: anon reaches it only through what calls it
                attackers.append((c.anon, all_ids, fn.anon))
            for actor, ids, may in attackers:
                role = "anon" if actor.is_anon else "authenticated"
                counted = self.escalation.counters()
                outcome, (after, written, rows_after) = self.prober.run_as(
                    actor,
                    attack,
                    after=lambda: self._after(victim_pattern, counted, role),  # noqa: B023
                )
                verdict = self._judge(fn, actor, ids, may, outcome, before, after)
                shown = nearmiss.seen(
                    outcome, returns_boolean=fn.returns_boolean, watched=bool(self.owned)
                )
                saw.append(f"{actor.label} {shown}" if shown else None)
                if outcome.error is None and rows_after:
                    own_ids = () if actor.is_anon else (c.a_id,)
                    changes = self.escalation.changes(
                        written, self.escalation.rows(list(rows_after)), rows_after, own_ids
                    )
                    if changes:
                        self.prober.record(
                            RPC_PRIVILEGE_ESCALATION.finding(
                                fn.qualified,
                                f"{actor.label} called {fn.name} with the victim's ids and it "
                                + "; ".join(ch.describe() for ch in changes),
                            )
                        )
                        verdict += ", ESCALATION"
                results.append(f"{actor.label}: {verdict}")
                self.prober.tally.cells.append(
                    (
                        fn.qualified,
                        "execute",
                        f"{actor.label}: call with coach B's ids",
                        verdict,
                    )
                )
            if self._serious() == findings_before and all(saw):
                self._clear(fn, saw)
            if fn.authenticated:
                control, _ = self.prober.run_as(c.a_self, own)
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

    def _serious(self) -> int:
        """How many findings the proof has that are not anon's mere permission to execute."""
        return sum(f.rule != FUNCTION_EXECUTABLE_BY_ANON.id for f in self.prober.tally.findings)

    def _clear(self, fn: Function, saw: list[str | None]) -> None:
        detail = "the proof called it with the victim's ids and saw nothing change (" + (
            ", ".join(s for s in saw if s) + ")"
        )
        self.cleared[fn.qualified] = detail
        self.cleared[nearmiss.static_name(self.conn, fn.oid)] = detail

    def _after(
        self, victim_pattern: str, counted: dict[str, tuple[int, int, int]], role: str
    ) -> tuple[tuple[Any, ...], dict[str, dict[str, int]], dict[str, set[str]]]:
        """After a call, before its rollback: the victim's state, what it wrote, suspect rows."""
        written = self.escalation.written(counted, self.escalation.counters())
        suspects = self.escalation.suspects(written, role)
        return self.state(victim_pattern), written, self.escalation.rows(suspects)

    def reads(self) -> list[Read]:
        """The read-only functions coach A may call, called with its own ids: for the sweep."""
        return [
            Read(fn.qualified, "function", own)
            for fn, own in self.called
            if fn.read_only and fn.authenticated
        ]

    def _judge(
        self,
        fn: Function,
        actor: Actor,
        ids: set[str],
        may: bool,
        outcome: Outcome,
        before: tuple[Any, ...],
        after: tuple[Any, ...],
    ) -> str:
        """Record what is wrong with one call; the verdict for the progress line and the cell."""
        refused = f"refused ({outcome.sqlstate})"
        if not may and _denied_execute(outcome):
            return refused  # proven: the catalog's "may not execute" holds when called
        verdicts = []
        if not may:
            # the catalog says no EXECUTE, yet the call was not refused for lack of it
            self.prober.record(
                ISOLATION_UNPROVEN.finding(
                    fn.qualified,
                    f"{actor.label} may not execute {fn.name}, but calling it was not refused "
                    f"for lack of privilege (42501): {outcome.describe()}",
                )
            )
            verdicts.append("unproven")
        if actor.is_anon and may and not self.declared_public(fn) and not fn.reached_from:
            self.prober.record(
                FUNCTION_EXECUTABLE_BY_ANON.finding(
                    fn.qualified,
                    f"anon may execute {fn.name} (called: {outcome.describe()}) and audit.toml "
                    f'does not declare it public ([functions.{fn.name}] access = "public")',
                )
            )
            verdicts.append("EXECUTABLE")
        problems = []
        canary = self.canaries.describe(outcome.text)
        if outcome.error is not None and canary:
            problems.append(f"its error names {canary}")
        if outcome.error is None:
            if canary:
                problems.append(f"returned {canary}")
            if after[1] != before[1]:
                problems.append("changed coach B's rows")
            if actor.is_anon and after[0] != before[0]:
                problems.append("changed coach A's rows")
            if after[2] != before[2]:
                problems.append("linked coach A's rows to coach B's")
            if any(i in outcome.text for i in ids):
                problems.append("returned coach B's data")
        if problems:
            self.prober.record(
                RPC_CROSS_TENANT.finding(
                    fn.qualified,
                    f"{actor.label} called {fn.name} with coach B's ids and it "
                    + ", ".join(problems)
                    + (
                        f" (not exposed, but reached from {fn.reached_from}: judged as if exposed)"
                        if fn.reached_from
                        else ""
                    ),
                )
            )
            verdicts.append("LEAK")
        elif not verdicts:
            verdicts.append(refused if outcome.error else "harmless")
        return ", ".join(verdicts)


def _denied_execute(outcome: Outcome) -> bool:
    """Refused by the privilege check itself, not by the function's own 42501."""
    return (
        outcome.sqlstate == "42501"
        and outcome.error is not None
        and "permission denied for function" in outcome.error
    )


def _names_user(param: str) -> bool:
    """user_id, p_user_id, target_user, member_id, owner_uid …: a user's id."""
    stem = param.lower().lstrip("_").removeprefix("p_").removesuffix("_ids").removesuffix("_id")
    return stem.rsplit("_", 1)[-1] in _USER_STEMS
