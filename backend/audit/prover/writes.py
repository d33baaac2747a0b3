"""Writes judged by fingerprints: every trigger fired by the writes that fire it, as each API role.

For every classified table, each API role (the forged coach A, anon,
service_role) inserts a fresh row of A's, updates A's first row (every column
it may write set to itself, so that `update of <column>` triggers fire too),
deletes a fresh row of A's and deletes A's first row (which holds the victim's
values where A may write them), each in a savepoint that is rolled back. After
each write, still inside it, the auditor compares a fingerprint of every one
of coach B's rows with the one taken before: a trigger (or rule, or cascade)
that wrote into B's rows is named with the row it changed. It also searches
A's rows for B's canaries: a trigger that copied B's data into the caller's
row is named with the canary. A write the role may not make fires nothing and
is judged by the matrix, not here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

from backend.audit.catalog import Relation
from backend.audit.prover.canary import Canaries
from backend.audit.prover.fixtures import Draft, FixtureError, Fixtures
from backend.audit.prover.matrix import SERVICE, Cast
from backend.audit.prover.probe import METHODS, Actor, Prober
from backend.audit.prover.rules import ISOLATION_LEAK
from backend.audit.prover.statements import delete_row, privileges, where_key
from backend.audit.prover.values import literal

Fingerprint = dict[str, str]

_TRIGGERS = """
select coalesce(string_agg(t.tgname, ', ' order by t.tgname), '')
from pg_catalog.pg_trigger t
where t.tgrelid = %s and not t.tgisinternal
"""


class Writes:
    def __init__(
        self,
        conn: psycopg.Connection[Any],
        fixtures: Fixtures,
        prober: Prober,
        canaries: Canaries,
        cast: Cast,
        owned: list[str],
        progress: Callable[[str], None],
    ) -> None:
        self.conn = conn
        self.fx = fixtures
        self.prober = prober
        self.canaries = canaries
        self.cast = cast
        self.owned = owned
        self.progress = progress
        self.made = 0  # writes the role was allowed to make (each fired its triggers)
        self._state: sql.Composed | None = None
        self._fresh: Draft | None = None  # the fresh row of A's for the table at hand

    # -- what is compared ----------------------------------------------------------------------

    def _rows(self, owner: str) -> sql.Composable:
        """`(table, key, row as json text)` of every row `owner` has in the owned tables."""
        parts = []
        for table in self.owned:
            shape = self.fx.shape(table)
            owner_col = self.fx.owner_column(table)
            if owner_col is None:
                continue
            key = shape.primary_key or tuple(shape.columns)
            parts.append(
                sql.SQL(
                    "select {} as t, pg_catalog.jsonb_build_array({})::text as k,"
                    " pg_catalog.to_jsonb(r.*)::text as j from {} as r where r.{} = {}"
                ).format(
                    sql.Literal(table),
                    sql.SQL(", ").join(sql.SQL("r.{}").format(sql.Identifier(c)) for c in key),
                    shape.ident,
                    sql.Identifier(owner_col),
                    literal(owner, shape.columns[owner_col].type),
                )
            )
        return (
            sql.SQL(" union all ").join(parts)
            if parts
            else sql.SQL("select ''::text as t, ''::text as k, ''::text as j where false")
        )

    def state(self) -> tuple[Fingerprint, str]:
        """A fingerprint of each of coach B's rows, and all of coach A's rows as text."""
        if self._state is None:
            self._state = sql.SQL(
                "select 'b', t || ' ' || k, pg_catalog.md5(j) from ({}) as b"
                " union all select 'a', '', coalesce(string_agg(t || ' ' || j, E'\\n'), '')"
                " from ({}) as a"
            ).format(self._rows(self.cast.b_id), self._rows(self.cast.a_id))
        fingerprint: Fingerprint = {}
        attacker = ""
        for side, key, value in self.conn.execute(self._state):
            if side == "b":
                fingerprint[str(key)] = str(value)
            else:
                attacker = str(value)
        return fingerprint, attacker

    # -- the writes ------------------------------------------------------------------------------

    def run(self, tables: list[Relation]) -> None:
        before, attacker_text = self.state()
        already = set(self.canaries.found(attacker_text))
        probes = self.prober.tally.probes
        for relation in tables:
            # one fresh row of A's per table, its parents kept until the table is done
            self._isolated(functools.partial(self._table, relation.qualified, before, already))
        self.progress(
            f"dynamic: writes: {self.prober.tally.probes - probes} writes by 3 roles over "
            f"{len(tables)} tables, {self.made} allowed, coach B's rows fingerprinted after each"
        )

    def _table(self, table: str, before: Fingerprint, already: set[str]) -> None:
        triggers = self._triggers(table)
        owner = self.cast.a_id if self.fx.owner_column(table) else None
        self._fresh = self.fx.draft(table, owner, fresh=True)
        oid = self.fx.shape(table).oid
        for actor in (self.cast.a, self.cast.anon, SERVICE):
            assert actor.principal is not None
            granted = privileges(self.conn, oid, actor.principal.role)
            for command in ("insert", "update", "delete", "delete first"):
                if command.split()[0].upper() not in granted:
                    continue  # refused before any trigger fires: the matrix's business
                self._isolated(
                    functools.partial(self._write, table, actor, command, before, already, triggers)
                )

    def _isolated(self, fn: Callable[[], None]) -> None:
        mark = self.fx.mark()
        try:
            with self.conn.transaction(force_rollback=True):
                fn()
        except (FixtureError, LookupError, psycopg.Error):
            pass  # no row of A's to write here: nothing fires, the matrix reports the table
        finally:
            self.fx.forget_since(mark)

    def _statement(self, table: str, actor: Actor, command: str) -> sql.Composed | None:
        shape = self.fx.shape(table)
        owner = self.cast.a_id if self.fx.owner_column(table) else None
        fresh = self._fresh
        assert fresh is not None
        if command == "insert":
            return fresh.insert()
        if command == "delete":
            return delete_row(shape, self.fx.insert(fresh))
        row = self.fx.base(table, owner)
        if command == "delete first":
            # A's first row holds the victim's values where A may write them
            return delete_row(shape, row)
        service = actor is SERVICE
        columns = [
            c.name
            for c in shape.columns.values()
            if c.writable
            and c.name not in shape.primary_key
            and (c.service_can_update if service else c.authenticated_can_update)
        ]
        if not columns:
            return None
        return sql.SQL("update {} set {} where {}").format(
            shape.ident,
            sql.SQL(", ").join(sql.SQL("{0} = {0}").format(sql.Identifier(c)) for c in columns),
            where_key(shape, row),
        )

    def _write(
        self,
        table: str,
        actor: Actor,
        command: str,
        before: Fingerprint,
        already: set[str],
        triggers: str,
    ) -> None:
        statement = self._statement(table, actor, command)
        if statement is None:
            return
        outcome, seen = self.prober.run_as(
            actor, statement, after=self.state, method=METHODS[command.split()[0]]
        )
        if outcome.error is not None or outcome.rows == 0:
            return
        self.made += 1
        after, attacker_text = seen
        fired = f" (triggers on {table}: {triggers})" if triggers else ""
        whose = "coach A's first row" if command == "delete first" else "a row of coach A's"
        verb = command.split()[0]
        what = f"{actor.label}'s {verb} of {whose} in {table}{fired}"
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        if changed:
            effect = "removed" if changed[0] not in after else "changed"
            self._leak(table, f"{what} {effect} coach B's row {changed[0]}", len(changed))
        copied = [c for c in self.canaries.found(attacker_text) if c not in already]
        if copied:
            found = self.canaries.describe(" ".join(copied)) or copied[0]
            self._leak(table, f"{what} copied {found} into coach A's rows", 1)

    def _leak(self, table: str, message: str, count: int) -> None:
        more = f" and {count - 1} more" if count > 1 else ""
        self.prober.record(ISOLATION_LEAK.finding(table, message + more))
        self.prober.tally.cells.append((table, "write", message, "LEAK"))

    def _triggers(self, table: str) -> str:
        row = self.conn.execute(_TRIGGERS, (self.fx.shape(table).oid,)).fetchone()
        return str(row[0]) if row else ""
