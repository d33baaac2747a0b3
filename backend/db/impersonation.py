"""Impersonation exactly as PostgREST does it, for one transaction.

PostgREST runs each request in one transaction and first issues a single
`select set_config(…, true), …` that sets, transaction-locally: the role,
`request.jwt.claims` (the whole JWT payload, its `role` always the role set),
`request.method`, `request.path` and `request.headers`. Every direct-database
caller of this package (the gateway, the test harness, the audit's prover)
goes through `impersonate()`, so there is one way to do it. The same statement
also empties the legacy per-claim settings (`request.jwt.claim.sub` and
friends), which Supabase's `auth.uid()` reads before `request.jwt.claims`: a
session-level value left on a pooled connection must never name the caller.
Whatever else a request must set for its transaction (`transaction_read_only`,
the role's own `statement_timeout`) rides in that same statement, first, as
PostgREST does: one round trip, not one per setting.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg

API_ROLES = ("anon", "authenticated", "service_role")
RESERVED_CLAIMS = frozenset({"role", "aud"})


@dataclass(frozen=True)
class Principal:
    """Who a request runs as: a database role and the JWT claims PostgREST would see."""

    role: str
    claims: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def anon(cls) -> Principal:
        return cls("anon", {"role": "anon"})

    @classmethod
    def service(cls) -> Principal:
        return cls("service_role", {"role": "service_role"})

    @classmethod
    def user(cls, user_id: UUID | str, *, email: str | None = None, **extra: Any) -> Principal:
        """A signed-in user; `extra` claims may not set `role` or `aud` (those are fixed)."""
        reserved = sorted(RESERVED_CLAIMS & set(extra))
        if reserved:
            raise ValueError(f"a user's extra claims may not set {', '.join(reserved)}")
        claims: dict[str, Any] = {
            **extra,
            "sub": str(user_id),
            "role": "authenticated",
            "aud": "authenticated",
            **({"email": email} if email else {}),
        }
        return cls("authenticated", claims)

    @property
    def user_id(self) -> str | None:
        sub = self.claims.get("sub")
        return str(sub) if sub else None


class ImpersonationError(Exception):
    """The principal is not one of the API roles."""


def impersonate(
    conn: psycopg.Connection[Any],
    principal: Principal,
    *,
    method: str = "POST",
    path: str = "/rpc",
    headers: Mapping[str, str] | None = None,
    settings: Sequence[tuple[str, str]] = (),
) -> None:
    """Inside the current transaction, become `principal` as PostgREST would."""
    conn.execute(
        *impersonation_statement(
            principal, method=method, path=path, headers=headers, settings=settings
        )
    )


async def aimpersonate(
    conn: psycopg.AsyncConnection[Any],
    principal: Principal,
    *,
    method: str = "POST",
    path: str = "/rpc",
    headers: Mapping[str, str] | None = None,
    settings: Sequence[tuple[str, str]] = (),
) -> None:
    """`impersonate` for an asyncio connection: the same statement."""
    await conn.execute(
        *impersonation_statement(
            principal, method=method, path=path, headers=headers, settings=settings
        )
    )


# The fixed part of the statement; settings are prepended as `set_config(%s, %s, true)`.
_IMPERSONATION = (
    "set_config('role', %s, true),"
    " set_config('request.jwt.claims', %s, true),"
    # auth.uid()/role()/email()/jwt() read these older per-claim settings first:
    # empty them, so a value left on a pooled connection can not outrank the claims.
    " set_config('request.jwt.claim.sub', '', true),"
    " set_config('request.jwt.claim.role', '', true),"
    " set_config('request.jwt.claim.email', '', true),"
    " set_config('request.jwt.claim', '', true),"
    " set_config('request.method', %s, true),"
    " set_config('request.path', %s, true),"
    " set_config('request.headers', %s, true)"
)
_SETTING = "set_config(%s, %s, true), "
_STATEMENTS = tuple("select " + _SETTING * n + _IMPERSONATION for n in range(4))


def impersonation_statement(
    principal: Principal,
    *,
    method: str = "POST",
    path: str = "/rpc",
    headers: Mapping[str, str] | None = None,
    settings: Sequence[tuple[str, str]] = (),
) -> tuple[str, tuple[str, ...]]:
    """The one `select set_config(…)` that both `impersonate` variants run.

    `settings` (name, value) are set transaction-locally first, in the same
    statement; names and values travel as parameters, never in the SQL text.
    """
    if principal.role not in API_ROLES:
        raise ImpersonationError(f"refusing to impersonate {principal.role!r}: not an API role")
    claims = {**principal.claims, "role": principal.role}
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    count = len(settings)
    text = (
        _STATEMENTS[count]
        if count < len(_STATEMENTS)
        else "select " + _SETTING * count + _IMPERSONATION
    )
    return (
        text,
        (
            *(part for setting in settings for part in setting),
            principal.role,
            json.dumps(claims),
            method,
            path,
            json.dumps(lowered),
        ),
    )
