"""The sweep: all the attacker can read, searched for canaries, then read again without B.

Every exposed table (partitions included), view and read-only function is
read whole as the forged coach A and the forged anon. A canary in a row, a
result or an error message is a leak named by the canary. Then, in a savepoint
that is rolled back, the auditor removes every row of the victim, and
everything is read again: a result that changes with the victim's data
carries some of it (a count, a sum, a value, an error), canary or not. A
result that changes between two reads with nothing changed (random(),
clock_timestamp()) is not judged that way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from backend.audit.catalog import Relation
from backend.audit.prover.canary import Canaries
from backend.audit.prover.fixtures import AUTH_USERS, Fixtures
from backend.audit.prover.probe import Actor, Outcome, Prober
from backend.audit.prover.rules import ISOLATION_LEAK
from backend.audit.prover.values import literal

# How much of a changed result a finding quotes.
QUOTE = 160


@dataclass(frozen=True)
class Read:
    """One thing an attacker reads: the object, how it is named in messages, the statement."""

    object: str
    kind: str  # "table", "view", "partition", "function"
    statement: sql.Composed
    reached_from: str | None = None  # not exposed, but reached from this exposed object

    @property
    def named(self) -> str:
        """How messages name it: its kind and name, and where it is reached from."""
        if self.reached_from:
            return (
                f"{self.kind} {self.object} (not exposed, but reached from "
                f"{self.reached_from}: judged as if exposed)"
            )
        return f"{self.kind} {self.object}"


def read_reached(schema: str, name: str, via: str) -> Read:
    statement = sql.SQL("select pg_catalog.to_jsonb(t.*)::text from {} as t").format(
        sql.Identifier(schema, name)
    )
    return Read(f"{schema}.{name}", "view", statement, via)


def read_relation(relation: Relation) -> Read:
    kind = (
        "partition"
        if relation.partition_of
        else "view"
        if relation.relkind in ("v", "m")
        else "table"
    )
    statement = sql.SQL("select pg_catalog.to_jsonb(t.*)::text from {} as t").format(
        sql.Identifier(relation.schema, relation.name)
    )
    return Read(relation.qualified, kind, statement)


def result(outcome: Outcome) -> tuple[str, ...]:
    """What a read showed, order-free: its rows, or its error."""
    if outcome.error is not None:
        return (f"error {outcome.sqlstate}: {outcome.text}",)
    return tuple(sorted(outcome.text.splitlines()))


class Sweep:
    def __init__(
        self,
        conn: psycopg.Connection[Any],
        fixtures: Fixtures,
        prober: Prober,
        canaries: Canaries,
        victim: str,
        owned: list[str],
        progress: Callable[[str], None],
    ) -> None:
        self.conn = conn
        self.fx = fixtures
        self.prober = prober
        self.canaries = canaries
        self.victim = victim
        self.owned = owned
        self.progress = progress

    def run(self, reads: list[Read], attackers: list[Actor]) -> None:
        pairs = [(r, a) for r in reads for a in attackers]
        before = [self._read(r, a) for r, a in pairs]
        named = [self._canary(r, a, o) for (r, a), o in zip(pairs, before, strict=True)]
        after = self._without_victim(pairs)
        for i, ((read, actor), outcome) in enumerate(zip(pairs, before, strict=True)):
            if named[i] or not after or result(outcome) == result(after[i]):
                continue
            if self._known(read, actor):
                continue
            if result(self._read(read, actor)) != result(outcome):
                continue  # changes by itself: not a measure of the victim's data
            self._changed(read, actor, result(outcome), result(after[i]))
        self.progress(f"dynamic: sweep of {len(reads)} objects as {len(attackers)} attackers")

    def _known(self, read: Read, actor: Actor) -> bool:
        """A leak of this object to this attacker the matrix or the RPC proof named already."""
        return any(
            f.object == read.object
            and f.rule in ("isolation_leak", "rpc_cross_tenant")
            and f.message.startswith(actor.label)
            for f in self.prober.tally.findings
        )

    def _read(self, read: Read, actor: Actor) -> Outcome:
        outcome, _ = self.prober.run_as(actor, read.statement, method="GET")
        return outcome

    def _canary(self, read: Read, actor: Actor, outcome: Outcome) -> bool:
        """Record a leak when a canary shows; True when one did."""
        seen = self.canaries.describe(outcome.text)
        if seen is None:
            return False
        if self._known(read, actor):
            return True
        shown = "in its error" if outcome.error is not None else "in its result"
        self.prober.record(
            ISOLATION_LEAK.finding(
                read.object,
                f"{actor.label} reads coach B's data through {read.named}: {seen} {shown}",
            )
        )
        self.prober.tally.cells.append((read.object, "select", f"{actor.label}: sweep", "LEAK"))
        return True

    def _changed(
        self, read: Read, actor: Actor, before: tuple[str, ...], after: tuple[str, ...]
    ) -> None:
        gone = [line for line in before if line not in after] or list(before)
        quote = gone[0] if gone else ""
        if len(quote) > QUOTE:
            quote = quote[:QUOTE] + "…"
        self.prober.record(
            ISOLATION_LEAK.finding(
                read.object,
                f"{actor.label} reads coach B's data through {read.named}: its "
                f"result changes when coach B's rows are removed (a count, a sum or a value of "
                f"B's), e.g. {quote!r}",
            )
        )
        self.prober.tally.cells.append((read.object, "select", f"{actor.label}: sweep", "LEAK"))

    def _without_victim(self, pairs: list[tuple[Read, Actor]]) -> list[Outcome]:
        """Every read again, after the auditor removed the victim's rows (rolled back)."""
        if not self.prober.can_disable_triggers:
            return []
        with self.conn.transaction(force_rollback=True):
            # replica: no foreign key or trigger stands in the way, none writes anything
            self.conn.execute("set local session_replication_role = replica")
            for table in self.owned:
                shape = self.fx.shape(table)
                owner_col = self.fx.owner_column(table)
                if owner_col is None:
                    continue
                self.conn.execute(
                    sql.SQL("delete from {} where {} = {}").format(
                        shape.ident,
                        sql.Identifier(owner_col),
                        literal(self.victim, shape.columns[owner_col].type),
                    )
                )
            self.conn.execute(
                sql.SQL("delete from {} where id = {}").format(
                    sql.Identifier(*AUTH_USERS.split(".")), literal(self.victim, "uuid")
                )
            )
            self.conn.execute("set local session_replication_role = origin")
            return [self._read(r, a) for r, a in pairs]
