"""Safe near-misses: exposed functions the proof called with the victim's ids and saw refuse.

A definer function anon or a signed-in user may execute is a warning of the
static rules (`*_security_definer_function_executable`) and of the proof
(`function_executable_by_anon`). When the proof called it as anon and as a
plain user with the victim's ids and it refused (its own authorization check
raised, or its predicate answered no), or, with victim rows to watch, it
changed and returned nothing, those findings are lowered to `info`, saying so.
A call that failed for an accident of the generated arguments (a foreign key,
a bad value) proves nothing: the warnings stay.
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


def lower(findings: list[Finding], cleared: dict[str, str]) -> list[Finding]:
    """The definer and anon-execute warnings of cleared functions, at info with the proof."""
    out = []
    for f in findings:
        detail = cleared.get(f.object) if f.rule in LOWERED else None
        if detail is not None and f.level > Level.INFO:
            f = dataclasses.replace(f, level=Level.INFO, message=f"{f.message}; {detail}")
        out.append(f)
    return out
