"""The isolation matrix: every exposed table and view, every principal, every command.

What each principal may do follows from the table's class (audit.toml, or a
coach_id column). Coach A attacks coach B's rows; every denial is paired with
a positive control, the same statement run by the rightful principal (coach B,
the new row's owner, service_role, or the auditor itself where no API role is
meant to do it), so that "0 rows" never passes because the target did not
exist or the generated row was invalid.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from backend.audit.catalog import Catalog, Relation, named_table
from backend.audit.prover.fixtures import AUTH_USERS, FixtureError, Fixtures
from backend.audit.prover.probe import Actor, Case, Outcome, Prober
from backend.audit.prover.rules import ISOLATION_FIXTURE_FAILED, ISOLATION_LEAK, ISOLATION_UNPROVEN
from backend.audit.prover.shapes import ForeignKey, TableShape
from backend.audit.prover.statements import (
    delete_row,
    may_upsert,
    privileges,
    select_row,
    truncate,
    update_column,
    update_row,
    upsert_row,
    where_key,
)
from backend.audit.prover.values import literal
from backend.db.impersonation import Principal

# audiences that leave no API user a right to the operation: only trusted server code has it
_NO_API_USER = ("service", "nobody")
AUDITOR = Actor("the auditor (bypassing RLS)", None)
ANON = Actor("anon", Principal.anon())
SERVICE = Actor("service_role", Principal.service())

Row = dict[str, Any]


@dataclass(frozen=True)
class Cast:
    """The principals of one proof: two coaches, A attacks B (forging what a user can)."""

    a: Actor
    b: Actor
    a_id: str
    b_id: str
    anon: Actor
    # coach A without anything forged: runs A's own positive controls
    a_self: Actor


def coach(label: str, user_id: str) -> Actor:
    return Actor(label, Principal.user(user_id, email=f"{user_id[:8]}@example.test"))


@dataclass(frozen=True)
class Target:
    """One owned table under attack: its shape, owner column, grants and both coaches' rows."""

    table: str
    shape: TableShape
    owner_col: str
    granted: frozenset[str]
    a_row: Row
    b_row: Row
    column: str  # a column `update` may write without touching keys or owners
    per_user: bool
    # who audit.toml says may read and write (`read = "authenticated"`, `write = "service"`)
    read_by: str | None = None
    write_by: str | None = None

    def rightful(self, command: str, owner: Actor) -> Actor:
        """Who runs the positive control: the owner when granted `command` and audit.toml lets
        API users do it, else the auditor (a `write = "service"` table refuses its owner too)."""
        audience = self.read_by if command == "SELECT" else self.write_by
        if audience in _NO_API_USER:
            return AUDITOR
        return owner if command in self.granted else AUDITOR

    def readable_by_all(self, anon: bool) -> bool:
        """Whether audit.toml says every signed-in user (or, with `anon`, everyone) reads it."""
        return self.read_by == "anon" or (not anon and self.read_by == "authenticated")

    def owned_parents(self, fixtures: Fixtures) -> list[ForeignKey]:
        """Foreign keys to other owned tables, beyond the owner column itself."""
        return [
            fk
            for fk in self.shape.foreign_keys
            if fk.parent != AUTH_USERS
            and fixtures.owner_column(fk.parent)
            # a row may point at a row every signed-in user reads (a message in any channel)
            and fixtures.readable_by_all(fk.parent) is False
            and any(c != self.owner_col for c in fk.columns)
        ]

    def loose_keys(self, fixtures: Fixtures, owned: list[str]) -> list[ForeignKey]:
        """Id columns no foreign key holds, as the key they should have been (client_id -> clients).

        Only those of the parent's key type: the probe writes the victim's id into them.
        """
        held = {c for fk in self.shape.foreign_keys for c in fk.columns}
        keys = []
        for column in self.shape.columns.values():
            if column.name in held or column.name in (self.owner_col, *self.shape.primary_key):
                continue
            parent = named_table(column.name, owned)
            if parent is None or not column.writable:
                continue
            parent_key = fixtures.shape(parent).primary_key
            if len(parent_key) != 1 or fixtures.shape(parent).columns[parent_key[0]].type != (
                column.type
            ):
                continue
            keys.append(
                ForeignKey(f"{column.name}, no foreign key", (column.name,), parent, parent_key)
            )
        return keys

    def pointing_at(self, fk: ForeignKey, parent: Row) -> Row:
        """The values that make a row's foreign key `fk` point at `parent`."""
        return {
            col: parent.get(pcol)
            for col, pcol in zip(fk.columns, fk.parent_columns, strict=True)
            if col != self.owner_col
        }


class Matrix:
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

    # -- plumbing -----------------------------------------------------------------------------

    def deny(
        self,
        table: str,
        command: str,
        what: str,
        attacker: Actor,
        statement: sql.Composed,
        control_actor: Actor | None = None,
        control: sql.Composed | None = None,
        **options: Any,
    ) -> None:
        """`attacker` must fail; `control_actor` must succeed with `control` (default: the same)."""
        if control_actor is not None and control is None:
            control = statement
        self.prober.check(
            Case(
                table, command, what, attacker, statement, "deny", control_actor, control, **options
            )
        )

    def allow(
        self, table: str, command: str, what: str, actor: Actor, statement: sql.Composed
    ) -> None:
        self.prober.check(Case(table, command, what, actor, statement, "allow"))

    def isolated(self, fn: Callable[[], None]) -> None:
        """Run `fn` in a savepoint that is rolled back: its fresh rows never outlive it."""
        mark = self.fx.mark()
        try:
            with self.conn.transaction(force_rollback=True):
                fn()
        finally:
            self.fx.forget_since(mark)

    def run_table(self, relation: Relation) -> None:
        table_class = relation.table_class
        if table_class is None:
            return
        before = len(self.prober.tally.findings)
        probes = self.prober.tally.probes
        mark = self.fx.mark()
        try:
            with self.conn.transaction():
                if table_class.owned:
                    self.owned(relation)
                elif table_class.kind == "service-only":
                    self.service_only(relation)
                elif table_class.kind == "membership":
                    self.membership(relation)
                else:
                    self.public_read(relation)
        except (FixtureError, LookupError, psycopg.Error) as exc:
            self.fx.forget_since(mark)
            self.prober.record(ISOLATION_FIXTURE_FAILED.finding(relation.qualified, str(exc)))
        found = len(self.prober.tally.findings) - before
        self.progress(
            f"dynamic: {relation.qualified} ({table_class.kind}): "
            f"{self.prober.tally.probes - probes} probes, "
            + ("ok" if not found else f"{found} finding(s)")
        )

    # -- tables owned by a coach (or a user) ----------------------------------------------------

    def owned(self, relation: Relation) -> None:
        c = self.cast
        table = relation.qualified
        shape = self.fx.shape(table)
        owner_col = self.fx.owner_column(table)
        assert owner_col is not None
        t = Target(
            table=table,
            shape=shape,
            owner_col=owner_col,
            granted=frozenset(privileges(self.conn, shape.oid, "authenticated")),
            a_row=self.fx.base(table, c.a_id),
            b_row=self.fx.base(table, c.b_id),
            column=update_column(shape, {owner_col}) or owner_col,
            per_user=self.fx.is_per_user(table),
            read_by=relation.table_class.allows("read") if relation.table_class else None,
            write_by=relation.table_class.allows("write") if relation.table_class else None,
        )
        self.reads(t)
        self.isolated(functools.partial(self.inserts, t))
        for fk in self.parents_to_attack(t):
            self.isolated(functools.partial(self.insert_pointing_at_victim, t, fk))
        if relation.table_class is not None and relation.table_class.kind == "tenant-append-only":
            self.append_only(t)
        else:
            self.updates(t)
            self.isolated(functools.partial(self.deletes, t))
            self.upserts(t)
            self.isolated(functools.partial(self.without_where, t))
        # TRUNCATE is not probed for anon and users: PostgREST never sends it (a grant of it is
        # reported once by api_default_grants).

    def parents_to_attack(self, t: Target) -> list[ForeignKey]:
        """The foreign keys to owned tables, and the id columns that lack one."""
        owned = [r.qualified for r in self.catalog.tables if r.table_class and r.table_class.owned]
        return [*t.owned_parents(self.fx), *t.loose_keys(self.fx, owned)]

    def reads(self, t: Target) -> None:
        c = self.cast
        victim = select_row(t.shape, t.b_row)
        for attacker in (c.a, c.anon):
            if t.readable_by_all(anon=attacker is c.anon):
                continue  # audit.toml: every signed-in user reads it (read = "authenticated")
            self.deny(
                t.table, "select", "read coach B's row", attacker, victim, t.rightful("SELECT", c.b)
            )
        if "SELECT" in t.granted and t.read_by not in _NO_API_USER:
            own = select_row(t.shape, t.a_row)
            self.allow(t.table, "select", "read its own row", c.a_self, own)
        self.allow(t.table, "select", "read coach B's row", SERVICE, victim)

    def _owner_of(self, owner: str | None) -> Actor:
        c = self.cast
        if owner == c.b_id:
            return c.b
        if owner == c.a_id:
            return c.a_self
        return coach("the new row's user", str(owner))

    def inserts(self, t: Target) -> None:
        c = self.cast
        for_b = self.fx.draft(t.table, c.b_id, fresh=True)
        self.deny(
            t.table,
            "insert",
            "insert a row owned by another coach",
            c.a,
            for_b.insert(),
            t.rightful("INSERT", self._owner_of(for_b.owner)),
        )
        for_a = self.fx.draft(t.table, c.a_id, fresh=True)
        self.deny(
            t.table,
            "insert",
            "insert a row",
            c.anon,
            for_a.insert(),
            t.rightful("INSERT", self._owner_of(for_a.owner)),
        )

    def insert_pointing_at_victim(self, t: Target, fk: ForeignKey) -> None:
        c = self.cast
        draft = self.fx.draft(t.table, c.a_id, fresh=True)
        attack = draft.with_values(**t.pointing_at(fk, self.fx.base(fk.parent, c.b_id)))
        self.deny(
            t.table,
            "insert",
            f"insert a row pointing at coach B's {fk.parent} ({fk.name})",
            c.a,
            attack.insert(),
            t.rightful("INSERT", c.a_self),
            draft.insert(),
        )

    def updates(self, t: Target) -> None:
        c = self.cast
        for attacker in (c.a, c.anon):
            self.deny(
                t.table,
                "update",
                "update coach B's row",
                attacker,
                update_row(t.shape, t.b_row, t.column),
                t.rightful("UPDATE", c.b),
            )
        own_update = update_row(t.shape, t.a_row, t.column)
        new_owner: Any = sql.SQL("gen_random_uuid()") if t.per_user else c.b_id
        self.deny(
            t.table,
            "update",
            f"move its own row to another owner ({t.owner_col})",
            c.a,
            update_row(t.shape, t.a_row, t.owner_col, new_owner),
            t.rightful("UPDATE", c.a_self),
            own_update,
        )
        for fk in self.parents_to_attack(t):
            changes = t.pointing_at(fk, self.fx.base(fk.parent, c.b_id))
            statement = sql.SQL("update {} set {} where {}").format(
                t.shape.ident,
                sql.SQL(", ").join(
                    sql.SQL("{} = {}").format(
                        sql.Identifier(col), literal(value, t.shape.columns[col].type)
                    )
                    for col, value in changes.items()
                ),
                where_key(t.shape, t.a_row),
            )
            self.deny(
                t.table,
                "update",
                f"point its own row at coach B's {fk.parent} ({fk.name})",
                c.a,
                statement,
                t.rightful("UPDATE", c.a_self),
                own_update,
            )

    def deletes(self, t: Target) -> None:
        """A fresh row of B's is the target, so that no child row's foreign key holds it."""
        c = self.cast
        draft = self.fx.draft(t.table, c.b_id, fresh=True)
        victim = delete_row(t.shape, self.fx.insert(draft))
        for attacker in (c.a, c.anon):
            self.deny(
                t.table,
                "delete",
                "delete coach B's row",
                attacker,
                victim,
                t.rightful("DELETE", self._owner_of(draft.owner)),
            )

    def upserts(self, t: Target) -> None:
        """`insert … on conflict (pk) do update` aimed at the victim's key, as A's own row."""
        c = self.cast
        proposed = dict(t.b_row)
        if not t.per_user:
            proposed[t.owner_col] = c.a_id
        may = may_upsert(self.conn, t.shape, t.b_row, t.column, "authenticated")
        rightful = c.b if may else AUDITOR
        for attacker in (c.a, c.anon):
            self.deny(
                t.table,
                "upsert",
                "upsert onto coach B's row",
                attacker,
                upsert_row(t.shape, proposed, t.column),
                rightful,
                upsert_row(t.shape, t.b_row, t.column),
            )

    def without_where(self, t: Target) -> None:
        """Statements without a WHERE clause: SELECT policies do not apply to them.

        PostgREST sends a PATCH or DELETE without filters exactly like this, so
        the UPDATE and DELETE policies alone must keep the victim's rows out.
        Whether the victim's row was reached is read afterwards by the auditor.
        """
        c = self.cast
        draft = self.fx.draft(t.table, c.b_id, fresh=True)
        victim = self.fx.insert(draft)
        owner = self._owner_of(draft.owner)
        # `set col = col` would read the column and bring SELECT policies in: a constant
        update_all = sql.SQL("update {} set {} = {}").format(
            t.shape.ident,
            sql.Identifier(t.column),
            literal(victim.get(t.column), t.shape.columns[t.column].type),
        )
        delete_all = sql.SQL("delete from {}").format(t.shape.ident)
        gone = sql.SQL("select not exists (select from {} where {})").format(
            t.shape.ident, where_key(t.shape, victim)
        )
        for attacker in (c.a, c.anon):
            self.deny(
                t.table,
                "update",
                "update coach B's row without a WHERE clause",
                attacker,
                update_all,
                t.rightful("UPDATE", owner),
                reached=self._rewritten(t, victim),
            )
            # replica: the attacker's own rows' foreign keys must not abort the statement
            self.deny(
                t.table,
                "delete",
                "delete coach B's row without a WHERE clause",
                attacker,
                delete_all,
                t.rightful("DELETE", owner),
                reached=gone,
                replica=True,
            )
        if not t.per_user:
            owner_value = literal(c.b_id, t.shape.columns[t.owner_col].type)
            move_all = sql.SQL("update {} set {} = {}").format(
                t.shape.ident, sql.Identifier(t.owner_col), owner_value
            )
            moved = sql.SQL("select exists (select from {} where {} and {} = {})").format(
                t.shape.ident,
                where_key(t.shape, t.a_row),
                sql.Identifier(t.owner_col),
                owner_value,
            )
            self.deny(
                t.table,
                "update",
                f"move its own row to another owner ({t.owner_col}) without a WHERE clause",
                c.a,
                move_all,
                t.rightful("UPDATE", c.a_self),
                update_all,
                reached=moved,
                control_reached=self._rewritten(t, t.a_row),
            )

    def _rewritten(self, t: Target, row: Row) -> sql.Composed:
        """An auditor query: has `row` been written since now (its xmin changed)?"""
        found = self.conn.execute(
            sql.SQL("select xmin::text from {} where {}").format(
                t.shape.ident, where_key(t.shape, row)
            )
        ).fetchone()
        return sql.SQL("select coalesce((select xmin::text from {} where {}), '') <> {}").format(
            t.shape.ident, where_key(t.shape, row), sql.Literal(found[0] if found else "")
        )

    def append_only(self, t: Target) -> None:
        """Nobody rewrites an entry, service_role included; the control: the entry exists."""
        c = self.cast
        for actor, row, whose in (
            (c.a, t.a_row, "its own"),
            (c.a, t.b_row, "coach B's"),
            (c.anon, t.b_row, "coach B's"),
            (SERVICE, t.b_row, "coach B's"),
        ):
            exists = select_row(t.shape, row)
            for command, statement in (
                ("update", update_row(t.shape, row, t.column)),
                ("delete", delete_row(t.shape, row)),
                ("upsert", upsert_row(t.shape, row, t.column)),
            ):
                self.deny(
                    t.table,
                    command,
                    f"{command} {whose} entry of an append-only table",
                    actor,
                    statement,
                    AUDITOR,
                    exists,
                )
        self.deny(t.table, "truncate", "truncate an append-only table", SERVICE, truncate(t.shape))

    # -- tables only trusted server code may touch -----------------------------------------------

    def service_only(self, relation: Relation) -> None:
        table = relation.qualified
        shape = self.fx.shape(table)
        row = self.fx.base(table, None)
        col = update_column(shape, set(), role="service_role") or next(iter(shape.columns))
        for attacker in (self.cast.a, self.cast.anon):
            for command, statement in (
                ("select", select_row(shape, row)),
                ("update", update_row(shape, row, col)),
                ("delete", delete_row(shape, row)),
                ("upsert", upsert_row(shape, row, col)),
            ):
                self.deny(
                    table,
                    command,
                    f"{command} a row of a service-only table",
                    attacker,
                    statement,
                    SERVICE,
                )
            self.isolated(functools.partial(self._service_insert, table, attacker))

    def _service_insert(self, table: str, attacker: Actor) -> None:
        draft = self.fx.draft(table, None, fresh=True)
        self.deny(
            table, "insert", "insert into a service-only table", attacker, draft.insert(), SERVICE
        )

    def membership(self, relation: Relation) -> None:
        from backend.audit.prover.members import Members, membership_of

        table_class = relation.table_class
        assert table_class is not None
        spec = membership_of(self, table_class)
        if spec is None:
            self.prober.record(
                ISOLATION_UNPROVEN.finding(
                    relation.qualified,
                    "no membership table to make the throwaway users members of "
                    f"(predicate {table_class.predicate} only; declare its membership)",
                )
            )
            return
        self.isolated(Members(self, relation, table_class, spec).run)

    def public_read(self, relation: Relation) -> None:
        table = relation.qualified
        shape = self.fx.shape(table)
        row = self.fx.base(table, None)
        col = update_column(shape, set(), role="service_role") or next(iter(shape.columns))
        for actor in (self.cast.anon, self.cast.a):
            self.allow(table, "select", "read a public row", actor, select_row(shape, row))
            for command, statement in (
                ("update", update_row(shape, row, col)),
                ("delete", delete_row(shape, row)),
                ("upsert", upsert_row(shape, row, col)),
            ):
                self.deny(table, command, f"{command} a public row", actor, statement, SERVICE)

    # -- views -------------------------------------------------------------------------------------

    def run_view(self, relation: Relation, victim_ids: set[str], all_ids: set[str]) -> None:
        """A sees none of B's ids through the view, anon none at all; B sees its own."""
        c = self.cast
        statement = sql.SQL("select pg_catalog.to_jsonb(v.*)::text from {} as v").format(
            sql.Identifier(relation.schema, relation.name)
        )
        probes = self.prober.tally.probes
        before = len(self.prober.tally.findings)
        control, _ = self.prober.run_as(c.b, statement, method="GET")
        for actor, ids in ((c.a, victim_ids), (c.anon, all_ids)):
            what = "coach B's rows" if actor is c.a else "coaches' rows"
            outcome, _ = self.prober.run_as(actor, statement, method="GET")
            seen = _mentions(outcome, ids)
            if seen:
                result = "LEAK"
                self.prober.record(
                    ISOLATION_LEAK.finding(
                        relation.qualified,
                        f"{actor.label} reads {what} through view {relation.qualified} "
                        f"({len(seen)} of the victim's ids appear)",
                    )
                )
            elif not control.allowed:
                # a view that shows coach B nothing proves nothing; one that shows B rows
                # without ids is judged by the sweep (canaries, results without B's rows)
                result = "unproven"
                self.prober.record(
                    ISOLATION_UNPROVEN.finding(
                        relation.qualified,
                        f"{actor.label} sees none of {what} through view {relation.qualified}, but "
                        f"coach B does not see its own rows there either ({control.describe()})",
                    )
                )
            else:
                result = "denied"
            self.prober.tally.cells.append(
                (relation.qualified, "select", f"{actor.label}: read {what}", result)
            )
        found = len(self.prober.tally.findings) - before
        self.progress(
            f"dynamic: {relation.qualified} (view): {self.prober.tally.probes - probes} probes, "
            + ("ok" if not found else f"{found} finding(s)")
        )


def _mentions(outcome: Outcome, ids: set[str]) -> list[str]:
    return sorted(i for i in ids if i in outcome.text)
