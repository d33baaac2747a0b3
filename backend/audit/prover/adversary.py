"""The adversary's scene: the victim's rows in every state, the attacker's rows made to collide.

Set up once, before any probe, inside the proof's transaction:

- the victim gets one more row for every label of every enum or listed
  column (`status`, `payment_status` …) its first row does not have, so a
  policy whose `and`/`or` misfires for one status is met by a row in it;
- the attacker, impersonated, rewrites each column it may write of its own
  rows to the value of a second row of the victim's, one column at a time:
  what it may write, it controls, so a policy or a join that compares such a
  column is met by a collision, while the victim's first row keeps canaries
  the attacker does not hold. A column the attacker can not write is left
  alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg import sql

from backend.audit.prover.canary import canary_value
from backend.audit.prover.fixtures import FixtureError, Fixtures
from backend.audit.prover.probe import Actor
from backend.audit.prover.statements import where_key
from backend.audit.prover.values import literal
from backend.db.impersonation import impersonate

Row = dict[str, Any]


def rows_of(
    conn: psycopg.Connection[Any], fx: Fixtures, tables: Iterable[str], owner: str
) -> list[tuple[str, Row]]:
    """Every row `owner` has in `tables`, read by the auditor."""
    found: list[tuple[str, Row]] = []
    for table in tables:
        shape = fx.shape(table)
        owner_col = fx.owner_column(table)
        if owner_col is None:
            continue
        query = sql.SQL("select pg_catalog.to_jsonb(t.*) from {} as t where t.{} = {}").format(
            shape.ident, sql.Identifier(owner_col), literal(owner, shape.columns[owner_col].type)
        )
        found.extend((table, dict(r[0])) for r in conn.execute(query))
    return found


class Scene:
    def __init__(self, conn: psycopg.Connection[Any], fx: Fixtures) -> None:
        self.conn = conn
        self.fx = fx
        self.twins: dict[str, Row] = {}
        self.collided: list[str] = []  # "table.column" the attacker set to the victim's value
        self.variants = 0

    def fill_victim(self, tables: list[str], victim: str) -> None:
        """Canaries in the victim's rows that exist already (a profile the sign-up made)."""
        for table in tables:
            if not self.fx.is_per_user(table):
                continue
            shape = self.fx.shape(table)
            row = self.fx.base(table, victim)
            held = {*shape.primary_key, self.fx.owner_column(table)}
            held |= {c for fk in shape.foreign_keys for c in fk.columns}
            for column in shape.columns.values():
                value = canary_value(column, self.fx.token, 900 + column.attnum)
                if column.name in held or value is None:
                    continue
                statement = sql.SQL("update {} set {} = {} where {}").format(
                    shape.ident,
                    sql.Identifier(column.name),
                    literal(value, column.type),
                    where_key(shape, row),
                )
                try:
                    with self.conn.transaction():
                        self.conn.execute(statement)
                    row[column.name] = value
                except psycopg.Error:
                    continue  # a check or trigger refuses this canary: the column keeps its value

    def every_label(self, tables: list[str], victim: str) -> None:
        """One more victim row per label its first row lacks, in each labelled column."""
        for table in tables:
            shape = self.fx.shape(table)
            base = self.fx.base(table, victim)
            for column in shape.columns.values():
                labels = column.labels or shape.choices.get(column.name, ())
                if not column.writable or len(labels) < 2:
                    continue
                for label in labels:
                    if label != base.get(column.name):
                        self._variant(table, victim, column.name, label)

    def _variant(self, table: str, victim: str, column: str, label: str) -> None:
        mark = self.fx.mark()
        try:
            with self.conn.transaction():
                draft = self.fx.draft(table, victim, fresh=True)
                self.fx.insert(draft.with_values(**{column: label}))
            self.variants += 1
        except (FixtureError, psycopg.Error):
            # a label the table's rules forbid for a fresh row (paid without a payment …)
            self.fx.forget_since(mark)

    def collide(self, tables: list[str], attacker: Actor, attacker_id: str, victim: str) -> None:
        """As the attacker, set each writable column of its rows to the victim's twin's value."""
        assert attacker.principal is not None
        for table in tables:
            shape = self.fx.shape(table)
            mine = self.fx.base(table, attacker_id)
            theirs = self.twins.get(table) or self.fx.base(table, victim)
            keys = {*shape.primary_key, self.fx.owner_column(table)}
            keys |= {c for fk in shape.foreign_keys for c in fk.columns}
            for column in shape.columns.values():
                value = theirs.get(column.name)
                if (
                    column.name in keys
                    or not column.writable
                    or not column.authenticated_can_update
                    or column.labels
                    or column.category in ("B", "D")
                    or value is None
                    or value == mine.get(column.name)
                ):
                    continue
                statement = sql.SQL("update {} set {} = {} where {}").format(
                    shape.ident,
                    sql.Identifier(column.name),
                    literal(value, column.type),
                    where_key(shape, mine),
                )
                if self._as(attacker, statement):
                    mine[column.name] = value
                    self.collided.append(f"{table}.{column.name}")

    def twin(self, table: str, victim: str) -> None:
        """A second row of the victim's for the attacker to copy, so that the first keeps
        canaries nobody else holds (none where the victim can have only one row)."""
        if not self.fx.owner_column(table) or self.fx.is_per_user(table):
            return
        mark = self.fx.mark()
        try:
            with self.conn.transaction():
                # fresh parents: a key unique per parent (one charge per lesson and client)
                self.twins[table] = self.fx.insert(self.fx.draft(table, victim, fresh=True))
        except (FixtureError, psycopg.Error):
            self.fx.forget_since(mark)  # the attacker copies the victim's first row instead

    def _as(self, actor: Actor, statement: sql.Composed) -> bool:
        """Run `statement` as `actor` and keep its effect when it wrote a row."""
        assert actor.principal is not None
        try:
            with self.conn.transaction():
                impersonate(self.conn, actor.principal, method="PATCH", headers=dict(actor.headers))
                written = self.conn.execute(statement).rowcount == 1
                self.conn.execute("reset role")
                if not written:
                    raise _NothingWritten
            return True
        except (psycopg.Error, _NothingWritten):
            return False
        finally:
            self.conn.execute("reset role")


class _NothingWritten(Exception):
    """The attacker's update matched no row: undo the savepoint."""
