"""Throwaway rows for arbitrary tables, generated from the catalog.

Everything is written as the connecting (RLS-bypassing) role inside the
proof's transaction, which is rolled back at the end. A row's foreign keys
point at parents of the same owner; values come from `values.generate`, the
`[fixtures.<table>]` overrides of audit.toml (SQL expressions), and a few
retries that fill or empty the nullable columns a failing check names. The
victim's rows also get a canary in every column that takes one (nullable and
defaulted columns included); a canary a check or trigger refuses is dropped.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import errors, sql

from backend.audit.catalog import Catalog
from backend.audit.prover.canary import canary_value
from backend.audit.prover.shapes import TableShape, load_shape
from backend.audit.prover.values import PrivilegedOnly, generate, literal

AUTH_USERS = "auth.users"


class FixtureError(Exception):
    """No valid row could be generated for a table; the message says why."""


@dataclass
class Draft:
    """A row ready to insert: column values (Python, or raw SQL overrides) and its owner."""

    table: TableShape
    values: dict[str, Any]
    owner: str | None

    def columns_sql(self) -> sql.Composable:
        return sql.SQL(", ").join(sql.Identifier(c) for c in self.values)

    def values_sql(self) -> sql.Composable:
        return sql.SQL(", ").join(self.value_sql(c) for c in self.values)

    def value_sql(self, column: str) -> sql.Composable:
        value = self.values[column]
        if isinstance(value, sql.Composable):
            return value
        return literal(value, self.table.columns[column].type)

    def insert(self, *, returning: bool = False) -> sql.Composed:
        query = sql.SQL("insert into {} ({}) values ({})").format(
            self.table.ident, self.columns_sql(), self.values_sql()
        )
        if returning:
            query += sql.SQL(" returning pg_catalog.to_jsonb({}.*)").format(
                sql.Identifier(self.table.name)
            )
        return query

    def with_values(self, **changes: Any) -> Draft:
        return Draft(self.table, {**self.values, **changes}, self.owner)


class Fixtures:
    def __init__(self, conn: psycopg.Connection[Any], catalog: Catalog) -> None:
        self.conn = conn
        self.catalog = catalog
        self._shapes: dict[str, TableShape] = {}
        self._base: dict[tuple[str, str | None], dict[str, Any]] = {}
        self._order: list[tuple[str, str | None]] = []
        self._seq = itertools.count(1)
        self._owners = {
            r.qualified: r.table_class.owner
            for r in catalog.tables
            if r.table_class and r.table_class.owned
        }
        self._per_user = {r.qualified for r in catalog.of_kind("per-user")}
        self.spare_owner: str | None = None
        # the creator of rows no user owns (neither attacker nor victim)
        self.bystander: str | None = None
        # the victim's rows carry canaries that start with this token
        self.victim: str | None = None
        self.token = f"cnry{uuid.uuid4().hex[:6]}"
        # the victim's e-mail, in every e-mail column of its rows: what a policy compares
        self.victim_email: str | None = None
        # canary columns a check or trigger refused once: not tried again for that table
        self._refused: dict[str, set[str]] = {}

    # -- catalog ---------------------------------------------------------------------------
    def shape(self, table: str) -> TableShape:
        if table not in self._shapes:
            self._shapes[table] = load_shape(self.conn, table)
        return self._shapes[table]

    def owner_column(self, table: str) -> str | None:
        return self._owners.get(table)

    def readable_by_all(self, table: str) -> bool:
        """Whether audit.toml says every signed-in user reads `table` (read = "authenticated")."""
        return table in self.catalog.read_by("anon", "authenticated")

    def is_per_user(self, table: str) -> bool:
        return table in self._per_user

    # -- users -----------------------------------------------------------------------------
    def new_user(self, email: str | None = None, metadata: dict[str, Any] | None = None) -> str:
        user_id = str(uuid.uuid4())
        seq = next(self._seq)
        self.conn.execute(
            "insert into auth.users (id, email, aud, role, raw_user_meta_data)"
            " values (%s, %s, 'authenticated', 'authenticated', %s::jsonb)",
            (
                user_id,
                email or f"audit-{seq}-{user_id[:8]}@example.test",
                json.dumps(metadata if metadata is not None else {"full_name": "Audit"}),
            ),
        )
        return user_id

    # -- rows ------------------------------------------------------------------------------
    def base(self, table: str, owner: str | None) -> dict[str, Any]:
        """The one fixture row of `table` for `owner` (created on first use)."""
        owner = owner if self.owner_column(table) else None
        key = (table, owner)
        if key not in self._base:
            existing = self._existing(table, owner)
            if existing is not None:
                self._base[key] = existing
            else:
                self._base[key] = self._insert(self.draft(table, owner, fresh=False, stack=()))
            self._order.append(key)
        return self._base[key]

    def _act_as(self, draft: Draft) -> str:
        """Make auth.uid() the draft's owner for the inserts that follow; the previous claims."""
        row = self.conn.execute("select current_setting('request.jwt.claims', true)").fetchone()
        # A row no user owns is inserted by a bystander: a trigger that makes its creator an
        # administrator must not make either throwaway user one.
        actor = draft.owner or self._bystander()
        claims = json.dumps({"sub": actor, "role": "authenticated"})
        self.conn.execute("select set_config('request.jwt.claims', %s, true)", (claims,))
        return str(row[0]) if row and row[0] else ""

    def _bystander(self) -> str:
        if self.bystander is None:
            self.bystander = self.new_user()
        return self.bystander

    def mark(self) -> int:
        """A point to return to when the savepoint that follows is rolled back."""
        return len(self._order)

    def forget_since(self, mark: int) -> None:
        """Forget the fixture rows made after `mark`: their savepoint was rolled back."""
        for key in self._order[mark:]:
            self._base.pop(key, None)
        del self._order[mark:]

    def draft(
        self, table: str, owner: str | None, *, fresh: bool, stack: tuple[str, ...] = ()
    ) -> Draft:
        """A valid row for `table` of `owner` (proven by inserting it in a rolled-back savepoint).

        `fresh` gives it freshly created parents, so that a second row of one
        owner does not collide with the first on a unique key.
        """
        shape = self.shape(table)
        owner_col = self.owner_column(table)
        if owner_col and self.is_per_user(table) and fresh:
            owner = self.new_user()
            self.conn.execute(
                sql.SQL("delete from {} where {} = %s").format(
                    shape.ident, sql.Identifier(owner_col)
                ),
                (owner,),
            )
        return self._find_valid(shape, owner, fresh=fresh, stack=(*stack, table))

    def _existing(self, table: str, owner: str | None) -> dict[str, Any] | None:
        owner_col = self.owner_column(table)
        if not (owner_col and self.is_per_user(table) and owner):
            return None
        shape = self.shape(table)
        row = self.conn.execute(
            sql.SQL("select pg_catalog.to_jsonb(t.*) from {} as t where {} = %s limit 1").format(
                shape.ident, sql.Identifier(owner_col)
            ),
            (owner,),
        ).fetchone()
        return dict(row[0]) if row else None

    def insert(self, draft: Draft) -> dict[str, Any]:
        """Insert `draft` as the auditor and return the row as stored."""
        return self._insert(draft)

    def _insert(self, draft: Draft) -> dict[str, Any]:
        # A trigger that reads auth.uid() (the creator of an account becomes its owner) sees
        # the row's owner, as when that user inserts it through the API. A failed insert
        # rolls the setting back with its savepoint.
        previous = self._act_as(draft)
        row = self.conn.execute(draft.insert(returning=True)).fetchone()
        assert row is not None
        self.conn.execute("select set_config('request.jwt.claims', %s, true)", (previous,))
        return dict(row[0])

    def _parent_values(
        self, shape: TableShape, owner: str | None, *, fresh: bool, stack: tuple[str, ...]
    ) -> tuple[dict[str, Any], set[str]]:
        """Values of foreign key columns (parents of the same owner) and which are optional."""
        owner_col = self.owner_column(shape.qualified)
        values: dict[str, Any] = {}
        optional: set[str] = set()
        for fk in shape.foreign_keys:
            own_cols = [c for c in fk.columns if c != owner_col]
            required = any(shape.columns[c].not_null for c in own_cols)
            if fk.parent in stack or any(c in values for c in own_cols):
                continue
            if fk.parent == AUTH_USERS:
                parent_row: dict[str, Any] = {"id": owner or self.new_user()}
            else:
                parent_owner = owner or self.spare_owner
                if fresh and self.owner_column(fk.parent):
                    parent_row = self._insert(
                        self.draft(fk.parent, parent_owner, fresh=True, stack=stack)
                    )
                else:
                    parent_row = self.base(fk.parent, parent_owner)
            for col, pcol in zip(fk.columns, fk.parent_columns, strict=True):
                if col == owner_col:
                    continue
                values[col] = parent_row.get(pcol)
                if not required:
                    optional.add(col)
        return values, optional

    def _find_valid(
        self, shape: TableShape, owner: str | None, *, fresh: bool, stack: tuple[str, ...]
    ) -> Draft:
        owner_col = self.owner_column(shape.qualified)
        overrides = self.catalog.config.fixtures.get(
            shape.name
        ) or self.catalog.config.fixtures.get(shape.qualified, {})
        parents, optional = self._parent_values(shape, owner, fresh=fresh, stack=stack)
        seq = next(self._seq)
        canaries = self._canaries(shape, owner, seq, {*parents, *overrides})
        extra: set[str] = set()
        drop_optional = False
        last_error = ""
        for _ in range(12):
            values: dict[str, Any] = {}
            if owner_col and owner:
                values[owner_col] = owner
            values.update(
                {k: v for k, v in parents.items() if not (drop_optional and k in optional)}
            )
            for col in shape.columns.values():
                if not col.writable or col.name in values:
                    continue
                if col.name in overrides:
                    values[col.name] = sql.SQL(overrides[col.name])
                elif col.name in canaries:
                    values[col.name] = canaries[col.name]
                elif col.identity and col.name not in extra:
                    continue  # generated by default as identity: the sequence numbers it
                elif (col.not_null and not col.has_default) or col.name in extra:
                    try:
                        values[col.name] = generate(col, seq, shape.choices.get(col.name, ()))
                    except PrivilegedOnly as exc:
                        raise FixtureError(
                            f"could not generate a row for {shape.qualified}: {exc}; add column "
                            f"values under [fixtures.{shape.name}] in audit.toml"
                        ) from exc
            draft = Draft(shape, values, owner)
            try:
                with self.conn.transaction(force_rollback=True):
                    self._act_as(draft)
                    self.conn.execute(draft.insert())
                return draft
            except errors.CheckViolation as exc:
                last_error = _line(exc)
                refused = set(shape.checks.get(exc.diag.constraint_name or "", ())) & set(canaries)
                if refused:
                    self._refused.setdefault(shape.qualified, set()).update(refused)
                    for name in refused:
                        canaries.pop(name)
                    continue
                flipped = self._flip(
                    shape, exc.diag.constraint_name or "", extra, optional, parents
                )
                if not flipped:
                    break
            except psycopg.Error as exc:
                last_error = _line(exc)
                if canaries:
                    # a trigger, a length or a check function refused one: keep the text ones
                    # first (the likeliest to pass), then none
                    text = {k: v for k, v in canaries.items() if isinstance(v, str)}
                    dropped = (
                        set(canaries) - set(text) if len(text) < len(canaries) else set(canaries)
                    )
                    self._refused.setdefault(shape.qualified, set()).update(dropped)
                    canaries = {k: v for k, v in canaries.items() if k not in dropped}
                    continue
                if drop_optional or not optional:
                    break
                drop_optional = True
        raise FixtureError(
            f"could not generate a row for {shape.qualified}: {last_error}; add column values "
            f"under [fixtures.{shape.name}] in audit.toml"
        )

    def _canaries(
        self, shape: TableShape, owner: str | None, seq: int, taken: set[str]
    ) -> dict[str, Any]:
        """Canary values for a victim's row: every free column that takes one."""
        if owner is None or owner != self.victim:
            return {}
        owner_col = self.owner_column(shape.qualified)
        skip = {*taken, *shape.primary_key, owner_col, *self._refused.get(shape.qualified, ())}
        skip |= {c for fk in shape.foreign_keys for c in fk.columns}
        # what the victim could not write itself stays out of its rows: the matrix's
        # positive controls insert the same row as the victim
        insertable = any(c.authenticated_can_insert for c in shape.columns.values())
        values = {}
        for col in shape.columns.values():
            if col.name in skip or (insertable and not col.authenticated_can_insert):
                continue
            value = canary_value(col, self.token, seq)
            if value is not None and self.victim_email and "email" in col.name.lower():
                value = self.victim_email
            if value is not None:
                values[col.name] = value
        return values

    @staticmethod
    def _flip(
        shape: TableShape,
        constraint: str,
        extra: set[str],
        optional: set[str],
        parents: dict[str, Any],
    ) -> bool:
        flipped = False
        for name in shape.checks.get(constraint, ()):
            col = shape.columns[name]
            if col.not_null or col.has_default:
                continue
            if name in extra:
                extra.discard(name)
            elif name in parents and name in optional:
                parents.pop(name)
            else:
                extra.add(name)
            flipped = True
        return flipped

    def base_rows(self, owner: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for (table, row_owner), row in self._base.items():
            if row_owner == owner:
                yield table, row


def _line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
