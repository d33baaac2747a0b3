"""Membership tenancy probed: the throwaway users become members of their own tenant.

For a table whose tenant is a membership (`account_user(account_id, user_id,
role)`), the auditor makes coach A a member of one tenant and coach B (the
victim) a member of another, then proves that A reads, updates and deletes
none of B's tenant's rows while B (or the auditor, where only server code may
write) can: the positive control. A `role:<name>` audience is proven with
both roles: A holding a lesser role in its own tenant is refused the
operation, A holding the named role does it. What can not be built (a second
tenant, a lesser role) is an `isolation_unproven` finding naming it.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

from psycopg import sql

from backend.audit.catalog import Relation
from backend.audit.config import Membership, TableClass
from backend.audit.prover.matrix import AUDITOR, Row
from backend.audit.prover.probe import Actor
from backend.audit.prover.rules import ISOLATION_UNPROVEN
from backend.audit.prover.statements import delete_row, select_row, update_column, update_row

if TYPE_CHECKING:
    from backend.audit.prover.matrix import Matrix

# which statement proves each operation of audit.toml
_COMMANDS = {"read": "select", "write": "update", "admin": "delete"}
# roles that outrank the others whatever the enum's order says; a role is lesser than the
# named one only when it ranks below it, so that an owner is never expected to be refused
# what an admin may do
_RANK = {"owner": 0, "admin": 1}


def lesser_roles(labels: list[str], role: str) -> list[str]:
    """The labels that rank below `role` (owner > admin > every other)."""
    rank = _RANK.get(role, 2)
    return [label for label in labels if label != role and _RANK.get(label, 2) > rank]


def membership_of(matrix: Matrix, tc: TableClass) -> Membership | None:
    """The table's own membership, or the schema's only one for a predicate table."""
    if tc.membership is not None:
        return tc.membership
    found = {t.membership for t in matrix.catalog.config.tables.values() if t.membership}
    return found.pop() if len(found) == 1 else None


def _qualified(matrix: Matrix, table: str) -> str:
    return table if "." in table else f"{matrix.catalog.config.schemas[0]}.{table}"


def _role_labels(matrix: Matrix, table: str, column: str) -> list[str]:
    """The labels of the role column's enum, in their order ([] when it is no enum)."""
    rows = matrix.conn.execute(
        "select e.enumlabel from pg_catalog.pg_attribute a"
        " join pg_catalog.pg_enum e on e.enumtypid = a.atttypid"
        " where a.attrelid = %s::regclass and a.attname = %s order by e.enumsortorder",
        (table, column),
    ).fetchall()
    if rows:
        return [str(r[0]) for r in rows]
    # a text column with `check (role in ('owner', 'admin', 'member'))`
    checks = matrix.conn.execute(
        "select pg_catalog.pg_get_constraintdef(c.oid) from pg_catalog.pg_constraint c"
        " join pg_catalog.pg_attribute a on a.attrelid = c.conrelid and a.attnum = any(c.conkey)"
        " where c.conrelid = %s::regclass and c.contype = 'c' and a.attname = %s"
        " and pg_catalog.cardinality(c.conkey) = 1",
        (table, column),
    ).fetchall()
    return [label for (text,) in checks for label in re.findall(r"'([^']+)'::text", str(text))]


def _policy_commands(matrix: Matrix, table: str) -> set[str]:
    """The commands some policy of `table` covers (`all` stands for each)."""
    rows = matrix.conn.execute(
        "select lower(p.polcmd::text) from pg_catalog.pg_policy p where p.polrelid = %s::regclass",
        (table,),
    ).fetchall()
    return {str(r[0]) for r in rows}


class Members:
    """The probes of one membership-tenanted table."""

    def __init__(self, matrix: Matrix, relation: Relation, tc: TableClass, spec: Membership):
        self.m = matrix
        self.table = relation.qualified
        self.tc = tc
        self.spec = spec
        self.members = _qualified(matrix, spec.table)
        self.labels = _role_labels(matrix, self.members, spec.role) if spec.role else []

    def unproven(self, what: str) -> None:
        self.m.prober.record(ISOLATION_UNPROVEN.finding(self.table, what))

    def join(self, user: str, tenant: Any, role: str | None) -> Row:
        """Make `user` a member of `tenant` (as the auditor); the membership row."""
        values: dict[str, Any] = {self.spec.tenant: tenant, self.spec.user: user}
        if self.spec.role and role is not None:
            values[self.spec.role] = role
        draft = self.m.fx.draft(self.members, None, fresh=True).with_values(**values)
        return self.m.fx.insert(draft)

    def set_role(self, membership: Row, role: str) -> None:
        assert self.spec.role is not None
        shape = self.m.fx.shape(self.members)
        self.m.conn.execute(update_row(shape, membership, self.spec.role, role))

    def second_tenant_row(self, tenant: str) -> Row:
        """A row of another tenant than the fixture row's: its tenant made afresh."""
        fx = self.m.fx
        draft = fx.draft(self.table, None, fresh=True)
        for fk in fx.shape(self.table).foreign_keys:
            if fk.columns == (tenant,):
                parent = fx.insert(fx.draft(fk.parent, None, fresh=True))
                draft = draft.with_values(**{tenant: parent[fk.parent_columns[0]]})
        return fx.insert(draft)

    def top_role(self) -> str | None:
        """The role named by an audience, else the enum's first label (None: no role column)."""
        named = [w[5:] for _, w in self.tc.allowed if w.startswith("role:")]
        if named:
            return named[0]
        return self.labels[0] if self.labels else None

    def run(self) -> None:
        tenant = self.tc.owner
        assert tenant is not None
        shape = self.m.fx.shape(self.table)
        b_row = self.m.fx.base(self.table, None)
        a_row = self.second_tenant_row(tenant)
        if a_row.get(tenant) == b_row.get(tenant):
            self.unproven(f"no second tenant: two generated rows share {tenant}")
            return
        top = self.top_role()
        c = self.m.cast
        a_member = self.join(c.a_id, a_row[tenant], top)
        self.join(c.b_id, b_row[tenant], top)
        avoid = {tenant, self.spec.user, self.spec.tenant, *(filter(None, [self.spec.role]))}
        column = update_column(shape, avoid)
        # a member's write is an update where a policy allows one, else a delete
        may_update = column is not None and bool(_policy_commands(self.m, self.table) & {"w", "*"})
        commands = {**_COMMANDS, "write": "update" if may_update else "delete"}

        def statement(command: str, row: Row) -> sql.Composed:
            if command == "select":
                return select_row(shape, row)
            if command == "update" and column is not None:
                return update_row(shape, row, column)
            return delete_row(shape, row)

        done: set[str] = set()
        for operation, command in commands.items():
            audience = self.tc.allows(operation) or ""
            if audience in ("authenticated", "anon") or command in done:
                continue
            done.add(command)
            # a member's right is proven by the victim; where audit.toml gives members none,
            # the auditor proves the row is there and the statement valid
            member_may = audience == "member" or audience.startswith("role:")
            control = c.b if member_may else AUDITOR
            what = f"{command} a row of another tenant (a member of its own)"
            self.m.deny(self.table, command, what, c.a, statement(command, b_row), control)
            if operation == "read":
                self.m.deny(
                    self.table,
                    command,
                    "read a member-only row",
                    c.anon,
                    statement(command, b_row),
                    control,
                )
        done.clear()
        for operation, command in commands.items():
            audience = self.tc.allows(operation) or ""
            if audience.startswith("role:") and command not in done:
                done.add(command)
                self.m.isolated(
                    functools.partial(
                        self.by_role, a_member, audience[5:], command, statement(command, a_row)
                    )
                )

    def by_role(self, membership: Row, role: str, command: str, statement: sql.Composed) -> None:
        """A lesser role of the same tenant is refused `statement`; `role` is allowed it."""
        lesser = lesser_roles(self.labels, role)
        if not self.spec.role or not lesser or role not in self.labels:
            self.unproven(
                f"no lesser role than {role} to give a member of {self.members}"
                f" ({self.spec.role or 'no role column'} has no other enum label)"
            )
            return
        a: Actor = self.m.cast.a_self
        for other in lesser:
            self.set_role(membership, other)
            self.m.deny(self.table, command, f"{command} its tenant's row as {other}", a, statement)
        self.set_role(membership, role)
        self.m.allow(self.table, command, f"{command} its tenant's row as {role}", a, statement)
