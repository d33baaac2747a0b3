"""The dynamic proof: the isolation matrix, the RPC attacks and the sweep, run by impersonation.

Everything happens in one transaction that is rolled back at the end, so the
audited database is never changed: two throwaway coaches, their generated rows,
every probe (each in its own savepoint, also rolled back).

Coach B is the victim: its rows carry canaries. Coach A is the attacker, and
forges what a user can: its token carries B's e-mail and B's user metadata,
every request header the schema reads carries B's id (anon's too), and the
columns A may write of its own rows hold B's values (`adversary.Scene`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from backend.audit.catalog import Catalog
from backend.audit.findings import Finding
from backend.audit.prover.adversary import Scene, rows_of
from backend.audit.prover.canary import AttackerInputs, Canaries
from backend.audit.prover.fixtures import FixtureError, Fixtures
from backend.audit.prover.matrix import ANON, Cast, Matrix
from backend.audit.prover.nearmiss import moves_denied
from backend.audit.prover.probe import Actor, Prober, Tally
from backend.audit.prover.rpc import RpcProof
from backend.audit.prover.rules import ISOLATION_FIXTURE_FAILED, RULES
from backend.audit.prover.sweep import Sweep, read_reached, read_relation
from backend.audit.prover.writes import Writes
from backend.audit.reach import Reached, reachable_definers
from backend.db.impersonation import Principal

__all__ = ["RULES", "Proof", "ProofUnavailable", "prove_isolation"]


class ProofUnavailable(Exception):
    """The connecting role can not run the proof (it must bypass RLS and become the API roles)."""


@dataclass
class Proof:
    findings: list[Finding] = field(default_factory=list)
    probes: int = 0
    cells: list[tuple[str, str, str, str]] = field(default_factory=list)
    functions: int = 0
    # safe near-misses: functions every caller saw refuse (name: what the proof saw)
    cleared: dict[str, str] = field(default_factory=dict)
    # trigger-guarded tables whose every tenant-moving update was denied (table: detail)
    guarded: dict[str, str] = field(default_factory=dict)


def _quiet(_: str) -> None:
    return None


def _check_auditor(conn: psycopg.Connection[Any]) -> None:
    row = conn.execute(
        "select rolsuper or rolbypassrls,"
        " pg_catalog.pg_has_role(current_user, 'authenticated', 'MEMBER')"
        " and pg_catalog.pg_has_role(current_user, 'anon', 'MEMBER')"
        " and pg_catalog.pg_has_role(current_user, 'service_role', 'MEMBER'),"
        " pg_catalog.to_regclass('auth.users') is not null"
        " from pg_catalog.pg_roles where rolname = current_user"
    ).fetchone()
    if row is None or not row[0] or not row[1]:
        raise ProofUnavailable(
            "the dynamic proof needs a role that bypasses RLS and may become anon, authenticated "
            "and service_role (e.g. postgres); use --static-only otherwise"
        )
    if not row[2]:
        raise ProofUnavailable("the dynamic proof needs auth.users to create throwaway coaches")


def _ids(rows: list[dict[str, Any]]) -> set[str]:
    """Every uuid that appears in the given rows."""
    found = set()
    for row in rows:
        for value in row.values():
            if isinstance(value, str) and len(value) == 36:
                try:
                    found.add(str(uuid.UUID(value)))
                except ValueError:
                    continue
    return found


def _cast(conn: psycopg.Connection[Any], fx: Fixtures) -> tuple[Cast, list[str]]:
    """The victim with canaries in its identity, the attacker forging it; what A forges."""
    inputs = AttackerInputs.read(conn)
    email = f"{fx.token}@canary.test"
    metadata = {"full_name": f"{fx.token} name", "business_name": f"{fx.token} business"}
    b_id = fx.new_user(email=email, metadata=metadata)
    forged_metadata = inputs.forged_metadata(metadata, b_id)
    # A signed up with B's metadata, and its token says B's e-mail
    a_id = fx.new_user(metadata=forged_metadata)
    fx.victim, fx.victim_email = b_id, email
    headers = tuple(inputs.forged_headers(b_id).items())
    a = Actor("coach A", Principal.user(a_id, email=email, user_metadata=forged_metadata), headers)
    b = Actor("coach B", Principal.user(b_id, email=email, user_metadata=metadata))
    anon = Actor(ANON.label, ANON.principal, headers)
    forged = [email, *(str(v) for v in forged_metadata.values()), *(v for _, v in headers)]
    a_self = Actor("coach A", Principal.user(a_id, email=f"{a_id[:8]}@example.test"))
    return Cast(a, b, a_id, b_id, anon, a_self), forged


def _as_if_exposed(conn: psycopg.Connection[Any], reached: list[Reached]) -> list[Reached]:
    """Grant `authenticated` what an endpoint would have on each reached definer object.

    Inside the proof's transaction, so rolled back with it; an object the auditor
    may not grant on is left out (the static rules still see the exposed side).
    """
    granted = []
    for obj in reached:
        target = (
            sql.SQL("function {}").format(sql.SQL(_regprocedure(conn, obj.oid)))
            if obj.kind == "function"
            else sql.SQL("table {}").format(sql.Identifier(obj.schema, obj.name))
        )
        privilege = sql.SQL("execute" if obj.kind == "function" else "select")
        try:
            with conn.transaction():
                conn.execute(
                    sql.SQL("grant usage on schema {} to authenticated").format(
                        sql.Identifier(obj.schema)
                    )
                )
                conn.execute(sql.SQL("grant {} on {} to authenticated").format(privilege, target))
            granted.append(obj)
        except psycopg.Error:
            continue
    return granted


def _regprocedure(conn: psycopg.Connection[Any], oid: int) -> str:
    row = conn.execute("select %s::oid::regprocedure::text", (oid,)).fetchone()
    assert row is not None
    return str(row[0])


def prove_isolation(
    conn: psycopg.Connection[Any],
    catalog: Catalog,
    *,
    progress: Callable[[str], None] = _quiet,
    focus: Collection[str] | None = None,
) -> Proof:
    """Run the matrix and the RPC attacks against `conn`'s database; change nothing.

    `focus` limits the probes to the named tables, views and functions
    ("schema.name"); every classified table still gets its fixture rows.
    """

    def wanted(name: str) -> bool:
        return focus is None or name.partition("(")[0] in focus

    tally = Tally()
    proof = Proof()
    with conn.transaction(force_rollback=True):
        _check_auditor(conn)
        conn.execute("set local statement_timeout = '10s'")
        # never queue behind (or in front of) the database's own users for long
        conn.execute("set local lock_timeout = '2s'")
        # The probes each read a few rows, but on a large database the planner's
        # per-tenant estimates pass jit_above_cost: compiling would cost far more
        # (about 0.4 s a query) than running them.
        conn.execute("set local jit = off")
        # What PostgREST sets: the exposed schemas, then the extra search path.
        conn.execute(
            "select set_config('search_path', %s, true)",
            (", ".join([*catalog.config.schemas, "extensions"]),),
        )
        fx = Fixtures(conn, catalog)
        prober = Prober(conn, tally)
        cast, forged = _cast(conn, fx)
        a_id, b_id = cast.a_id, cast.b_id
        fx.spare_owner = a_id
        fx.bystander = fx.new_user()
        # partitions get their rows through their parent; the sweep reads them by name
        tables = [t for t in catalog.tables if t.table_class is not None and not t.partition_of]
        failed: set[str] = set()
        scene = Scene(conn, fx)
        # The two coaches' own rows in every table first (parents made on demand); the
        # victim's twin before its first row, so that nothing a trigger derives for the
        # twin (which the attacker copies) can hold the first row's canaries.
        for relation in tables:
            for owner in (a_id, None, b_id):
                mark = fx.mark()
                try:
                    with conn.transaction():
                        if owner is None:
                            scene.twin(relation.qualified, b_id)
                        else:
                            fx.base(relation.qualified, owner)
                except (FixtureError, psycopg.Error) as exc:
                    fx.forget_since(mark)
                    if relation.qualified not in failed:
                        failed.add(relation.qualified)
                        tally.findings.append(
                            ISOLATION_FIXTURE_FAILED.finding(relation.qualified, str(exc))
                        )
        progress(f"dynamic: fixtures for {len(tables) - len(failed)} of {len(tables)} tables")
        owned = [
            t.qualified
            for t in tables
            if t.table_class and t.table_class.owned and t.qualified not in failed
        ]
        scene.fill_victim(owned, b_id)
        scene.collide(owned, cast.a, a_id, b_id)
        matrix = Matrix(conn, catalog, fx, prober, cast, progress)
        for relation in tables:
            if relation.qualified not in failed and wanted(relation.qualified):
                matrix.run_table(relation)
        proof.guarded = moves_denied(conn, tally.cells)
        # after the matrix: its positive controls write the victim's rows in bulk, which
        # the rules of some states (a paid charge) rightly refuse
        scene.every_label(owned, b_id)
        progress(
            f"dynamic: adversary: {scene.variants} more victim rows (every label), "
            f"{len(scene.collided)} attacker columns set to the victim's values"
        )
        canaries = Canaries.of(
            fx.token, rows_of(conn, fx, owned, b_id), rows_of(conn, fx, owned, a_id), forged
        )
        victim_rows = [row for _, row in fx.base_rows(b_id)]
        attacker_rows = [row for _, row in fx.base_rows(a_id)]
        # what the attacker forges (B's id in a header) it holds: finding it proves nothing
        victim_ids = (_ids(victim_rows) - _ids(attacker_rows) | {b_id}) - set(forged)
        all_ids = (victim_ids | (_ids(attacker_rows) - _ids(victim_rows)) | {a_id}) - set(forged)
        for view in catalog.views:
            if wanted(view.qualified):
                matrix.run_view(view, victim_ids, all_ids)
        reached = _as_if_exposed(conn, reachable_definers(conn, catalog.config.schemas))
        if reached:
            progress(
                "dynamic: reached from the API, judged as if exposed: "
                + ", ".join(r.qualified for r in reached)
            )
        rpc = RpcProof(conn, catalog, fx, prober, cast, progress, canaries)
        proof.functions = rpc.run(
            victim_ids, all_ids, wanted, {r.oid: r.via for r in reached if r.kind == "function"}
        )
        proof.cleared = rpc.cleared
        reads = [read_relation(r) for r in catalog.relations if wanted(r.qualified)]
        reads += [
            read_reached(r.schema, r.name, r.via)
            for r in reached
            if r.kind == "view" and (wanted(r.qualified) or wanted(r.via))
        ]
        sweep = Sweep(conn, fx, prober, canaries, b_id, owned, progress)
        # what audit.toml says every signed-in user (or everyone) reads is no leak to them
        signed_in, everyone = (
            set(catalog.read_by("anon", "authenticated")),
            set(catalog.read_by("anon")),
        )
        every = [*reads, *rpc.reads()]
        sweep.run([r for r in every if r.object not in signed_in], [cast.a, cast.anon])
        sweep.run([r for r in every if r.object in signed_in - everyone], [cast.anon])
        writes = Writes(conn, fx, prober, canaries, cast, owned, progress)
        writes.run([t for t in tables if t.qualified not in failed and wanted(t.qualified)])
    proof.findings = tally.findings
    proof.probes = tally.probes
    proof.cells = tally.cells
    return proof
