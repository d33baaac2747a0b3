"""Safe near-misses: what a static rule warns of and the proof tried and saw refused.

A definer function anon or a signed-in user may execute is a warning of the
static rules (`*_security_definer_function_executable`) and of the proof
(`function_executable_by_anon`). When the proof called it as anon and as a
plain user with the victim's ids and it refused (its own authorization check
raised, or its predicate answered no), or, with victim rows to watch, it
changed and returned nothing, those findings are lowered to `info`, saying so.
A call that failed for an accident of the generated arguments (a foreign key,
a bad value) proves nothing: the warnings stay.

Likewise an update policy that does not pin the owner
(`update_policy_not_pinned`) on a table a BEFORE UPDATE trigger guards: when
every attempt of the proof to move the attacker's own row to the victim was
denied (with its positive control working), the finding is lowered to info.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import psycopg

from backend.audit.findings import Finding, Level
from backend.audit.prover.probe import Outcome

# the rules a cleared function is lowered to info in
LOWERED = (
    "anon_security_definer_function_executable",
    "authenticated_security_definer_function_executable",
    "function_executable_by_anon",
)
# the tables' findings the proof's denied moves lower to info
PINNING = "update_policy_not_pinned"
# the matrix's cells of a move: "coach A: move its own row to another owner (…)"
_MOVE = "coach A: move its own row to another owner"
_GUARDED = """
select n.nspname || '.' || c.relname
from pg_catalog.pg_trigger t
join pg_catalog.pg_class c on c.oid = t.tgrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where not t.tgisinternal and t.tgenabled <> 'D'
  and t.tgtype & 2 = 2 and t.tgtype & 16 = 16  -- BEFORE, UPDATE
  and n.nspname || '.' || c.relname = any(%s)
"""
# errors that are a refusal: insufficient privilege, a raised exception, no data
# found, invalid authorization (not a data or integrity error of the arguments)
_REFUSALS = ("42501", "P0", "28")
# what a call that returned nothing prints (void, null, no row)
_NOTHING = ("", "null")
_NO = ("false", *_NOTHING)

_STATIC_NAME = """
select format('%%s.%%s(%%s)', n.nspname, p.proname,
              pg_catalog.pg_get_function_identity_arguments(p.oid))
from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
where p.oid = %s
"""


def seen(outcome: Outcome, *, returns_boolean: bool, watched: bool) -> str | None:
    """What the call showed if it proves the function safe for that caller, else None."""
    if outcome.error is not None:
        state = outcome.sqlstate or ""
        return f"refused ({state})" if state.startswith(_REFUSALS) else None
    text = outcome.text.strip()
    if returns_boolean and text in _NO:
        return f"answered {text or 'null'}"
    if watched and text in _NOTHING:
        return "changed and returned nothing"
    return None


def static_name(conn: psycopg.Connection[Any], oid: int) -> str:
    """The function as the static rules name it (types qualified: search_path pg_catalog)."""
    with conn.transaction(force_rollback=True):
        conn.execute("set local search_path = pg_catalog")
        row = conn.execute(_STATIC_NAME, (oid,)).fetchone()
    assert row is not None
    return str(row[0])


def moves_denied(
    conn: psycopg.Connection[Any], cells: list[tuple[str, str, str, str]]
) -> dict[str, str]:
    """Trigger-guarded tables where every move the proof tried was denied: table: detail."""
    moves: dict[str, list[str]] = {}
    for table, _, what, result in cells:
        if what.startswith(_MOVE):
            moves.setdefault(table, []).append(result)
    denied = [t for t, results in moves.items() if all(r == "denied" for r in results)]
    if not denied:
        return {}
    guarded = {str(r[0]) for r in conn.execute(_GUARDED, (denied,)).fetchall()}
    return {
        t: f"a BEFORE UPDATE trigger guards {t}, and the proof's {len(moves[t])} attempt(s) "
        "to move coach A's own row to coach B were denied"
        for t in denied
        if t in guarded
    }


def lower(
    findings: list[Finding], cleared: dict[str, str], guarded: dict[str, str] | None = None
) -> list[Finding]:
    """The warnings of what the proof saw refused (cleared functions, guarded tables), at info."""
    guarded = guarded or {}
    out = []
    for f in findings:
        if f.rule in LOWERED:
            detail = cleared.get(f.object)
        elif f.rule == PINNING:
            detail = guarded.get(f.object.rsplit(".", 1)[0])
        else:
            detail = None
        if detail is not None and f.level > Level.INFO:
            f = dataclasses.replace(f, level=Level.INFO, message=f"{f.message}; {detail}")
        out.append(f)
    return out
