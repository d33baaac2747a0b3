"""One probe: a statement run as one principal in a savepoint that is always rolled back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import psycopg
from psycopg import sql

from backend.audit.findings import Finding
from backend.audit.prover.rules import ISOLATION_LEAK, ISOLATION_UNPROVEN
from backend.db.impersonation import Principal, impersonate

Expect = Literal["deny", "allow"]
# The HTTP method PostgREST would put in request.method for each command.
METHODS = {
    "select": "GET",
    "insert": "POST",
    "upsert": "POST",
    "update": "PATCH",
    "delete": "DELETE",
    "truncate": "POST",
    "execute": "POST",
}


@dataclass(frozen=True)
class Actor:
    """Who runs a statement: a label, the principal (None: the auditor) and forged headers."""

    label: str
    principal: Principal | None
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def is_anon(self) -> bool:
        return self.principal is not None and self.principal.role == "anon"


@dataclass(frozen=True)
class Outcome:
    rows: int
    error: str | None = None
    sqlstate: str | None = None
    text: str = ""

    @property
    def allowed(self) -> bool:
        return self.error is None and self.rows > 0

    def describe(self) -> str:
        if self.error is not None:
            return f"failed ({self.sqlstate}: {self.error})"
        return f"{self.rows} row(s)"


@dataclass
class Case:
    """An attack and its positive control: the same kind of statement, the rightful actor."""

    object: str
    command: str
    what: str
    actor: Actor
    statement: sql.Composed
    expect: Expect = "deny"
    control_actor: Actor | None = None
    control: sql.Composed | None = None
    # For statements without a WHERE clause: an auditor query saying whether the
    # target row was reached (the row count alone counts the attacker's own rows).
    reached: sql.Composed | None = None
    # Run with triggers and foreign keys off (session_replication_role = replica),
    # so that the attacker's own rows do not abort a table-wide statement.
    replica: bool = False
    control_reached: sql.Composed | None = None


@dataclass
class Tally:
    probes: int = 0
    cells: list[tuple[str, str, str, str]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


class Prober:
    def __init__(self, conn: psycopg.Connection[Any], tally: Tally) -> None:
        self.conn = conn
        self.tally = tally
        self.can_disable_triggers = self._try("set local session_replication_role = replica")

    def _try(self, statement: str) -> bool:
        """Whether the auditor may run `statement` (tried in a savepoint, rolled back)."""
        try:
            with self.conn.transaction(force_rollback=True):
                self.conn.execute(statement)
        except psycopg.Error:
            return False
        return True

    def run_as(
        self,
        actor: Actor,
        statement: sql.Composed,
        after: Callable[[], Any] | None = None,
        *,
        reached: sql.Composed | None = None,
        replica: bool = False,
        method: str = "POST",
    ) -> tuple[Outcome, Any]:
        """Run `statement` as `actor`; `after` runs as the auditor before the rollback."""
        self.tally.probes += 1
        with self.conn.transaction(force_rollback=True):
            if replica:
                self.conn.execute("set local session_replication_role = replica")
            if actor.principal is not None:
                impersonate(self.conn, actor.principal, method=method, headers=dict(actor.headers))
            try:
                with self.conn.transaction():
                    cur = self.conn.execute(statement)
                    text = ""
                    if cur.description is not None:
                        rows = cur.fetchall()
                        count = len(rows)
                        text = "\n".join(str(v) for r in rows for v in r)
                    else:
                        # a command without a row count (truncate) succeeded as a whole
                        count = cur.rowcount if cur.rowcount >= 0 else 1
                    outcome = Outcome(count, text=text)
            except psycopg.Error as exc:
                message = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                # the whole error (message, detail, hint) is what the caller reads
                outcome = Outcome(0, message, exc.sqlstate, text=_error_text(exc))
            extra = None
            if reached is not None and outcome.error is None:
                self.conn.execute("reset role")
                row = self.conn.execute(reached).fetchone()
                outcome = Outcome(1 if row and row[0] else 0, text=outcome.text)
            if after is not None:
                self.conn.execute("reset role")
                extra = after()
        return outcome, extra

    def check(self, case: Case) -> bool:
        """Run a case; record a finding when it fails. True when it held."""
        if case.replica and not self.can_disable_triggers:
            self._cell(case, "skipped (the auditor can not set session_replication_role)")
            return True
        method = METHODS.get(case.command, "POST")
        outcome, _ = self.run_as(
            case.actor, case.statement, reached=case.reached, replica=case.replica, method=method
        )
        if case.expect == "allow":
            ok = outcome.allowed
            if not ok:
                self.record(
                    ISOLATION_UNPROVEN.finding(
                        case.object,
                        f"{case.actor.label} could not {case.what} on {case.object}: "
                        f"{outcome.describe()}",
                    )
                )
            self._cell(case, "ok" if ok else "unproven")
            return ok
        if outcome.allowed:
            self.record(
                ISOLATION_LEAK.finding(
                    case.object,
                    f"{case.actor.label} could {case.what} on {case.object} "
                    f"({case.command}: {outcome.describe()})",
                )
            )
            self._cell(case, "LEAK")
            return False
        if case.control is not None and case.control_actor is not None:
            control, _ = self.run_as(
                case.control_actor,
                case.control,
                reached=case.control_reached or case.reached,
                replica=case.replica,
                method=method,
            )
            if not control.allowed:
                self.record(
                    ISOLATION_UNPROVEN.finding(
                        case.object,
                        f"{case.actor.label} can not {case.what} on {case.object}, but the "
                        f"control ({case.control_actor.label}, same statement) failed too: "
                        f"{control.describe()}",
                    )
                )
                self._cell(case, "unproven")
                return False
        self._cell(case, "denied")
        return True

    def record(self, finding: Finding) -> None:
        if finding not in self.tally.findings:
            self.tally.findings.append(finding)

    def _cell(self, case: Case, result: str) -> None:
        self.tally.cells.append(
            (case.object, case.command, f"{case.actor.label}: {case.what}", result)
        )


def _error_text(exc: psycopg.Error) -> str:
    diag = exc.diag
    parts = [str(exc), diag.message_detail or "", diag.message_hint or ""]
    return "\n".join(p for p in parts if p)
