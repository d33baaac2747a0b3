"""Direct probes for the planted holes: two coaches and a statement run as one of them.

Every planted hole of the adversary tests is first shown to leak by one of these
probes, run by hand, before the audit is asked: a hole the audit names must be
a real hole, and a near-miss it stays silent on must really be safe.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg

from backend.db.impersonation import Principal, impersonate


@dataclass(frozen=True)
class Coaches:
    attacker: str
    victim: str


def two_coaches(conn: psycopg.Connection[Any]) -> Coaches:
    """Two signed-up coaches (the sign-up trigger makes their coaches rows)."""
    ids = [str(uuid.uuid4()) for _ in range(2)]
    for user_id in ids:
        conn.execute(
            "insert into auth.users (id, email, aud, role, raw_user_meta_data)"
            " values (%s, %s, 'authenticated', 'authenticated', '{}')",
            (user_id, f"probe-{user_id[:8]}@example.test"),
        )
    return Coaches(*ids)


def run_as(
    conn: psycopg.Connection[Any],
    principal: Principal,
    statement: str,
    params: Any = None,
    *,
    headers: Mapping[str, str] | None = None,
    method: str = "GET",
) -> list[tuple[Any, ...]] | str:
    """Rows the statement returns as `principal`, or its error's first line; rolled back."""
    with conn.transaction(force_rollback=True):
        impersonate(conn, principal, method=method, headers=headers)
        try:
            with conn.transaction():
                cur = conn.execute(statement, params)
                return cur.fetchall() if cur.description else []
        except psycopg.Error as exc:
            return str(exc).splitlines()[0]


def coach(user_id: str, **claims: Any) -> Principal:
    return Principal.user(user_id, **claims)
