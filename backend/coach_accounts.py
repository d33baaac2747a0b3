"""How a coach comes to exist, and an access token to try the product with locally.

A coach is a Supabase Auth user: the `on_auth_user_created` trigger turns each
new `auth.users` row into its `coaches` row. `create_coach` makes that user
through Supabase Auth's admin API when a Supabase project is configured (so
the coach can sign in with the password), else by inserting into the
bootstrap's `auth.users` of the database in use, as Supabase Auth would.

`dev_token` signs, with SUPABASE_JWT_SECRET, the access token Supabase Auth
would hand that coach after a password sign-in. It refuses any database that
is not on this machine: it is a development convenience, never a way into a
real project.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
import jwt
from psycopg.types.json import Jsonb

from backend.config import Settings
from backend.db.connect import connect, is_local, redact
from backend.db.ready import require_migrated
from backend.models import CoachCreate

DEV_TOKEN_TTL_SECONDS = 3600
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


class CoachAccountError(Exception):
    """The coach could not be created, or no token can be issued; the message is one line."""


@dataclass(frozen=True)
class NewCoach:
    id: uuid.UUID
    email: str
    created_through: Literal["supabase_auth", "database"]


def create_coach(
    settings: Settings,
    data: CoachCreate,
    *,
    database_url: str,
    transport: httpx.BaseTransport | None = None,
) -> NewCoach:
    """A new coach: through Supabase Auth when SUPABASE_URL is set, else into `auth.users`."""
    if settings.supabase_url:
        return _create_in_supabase_auth(settings, data, transport=transport)
    if data.password is not None:
        raise CoachAccountError(
            "--password needs Supabase Auth (SUPABASE_URL); locally, sign in with"
            " `backend dev token --email …` instead"
        )
    return _create_in_database(database_url, data)


def _create_in_supabase_auth(
    settings: Settings, data: CoachCreate, *, transport: httpx.BaseTransport | None
) -> NewCoach:
    service_key = settings.supabase_service_role_key
    if service_key is None or settings.supabase_anon_key is None:
        raise CoachAccountError(
            "creating a coach through Supabase Auth needs SUPABASE_SERVICE_ROLE_KEY"
        )
    from backend.gateway.supabase import SupabaseGateway  # supabase-py only when it is used

    gateway = SupabaseGateway(
        str(settings.supabase_url),
        settings.supabase_anon_key.get_secret_value(),
        service_role_key=service_key.get_secret_value(),
        transport=transport,
    )
    attributes: dict[str, Any] = {
        "email": data.email,
        "email_confirm": True,
        "user_metadata": {"full_name": data.full_name},
    }
    if data.password is not None:
        attributes["password"] = data.password.get_secret_value()
    try:
        client = gateway.client_for(gateway.administrative_session().caller, administrative=True)
        response = client.auth.admin.create_user(attributes)
    except Exception as exc:  # noqa: BLE001 - supabase_auth's errors and transport errors alike
        raise CoachAccountError(f"Supabase Auth refused the new coach: {_message(exc)}") from None
    finally:
        gateway.close()
    return NewCoach(uuid.UUID(str(response.user.id)), data.email, "supabase_auth")


def _create_in_database(url: str, data: CoachCreate) -> NewCoach:
    require_migrated(url)
    with connect(url) as conn, conn.transaction():
        taken = conn.execute(
            "select 1 from auth.users where lower(email) = lower(%s)", (data.email,)
        ).fetchone()
        if taken:
            raise CoachAccountError(f"a user with e-mail {data.email} already exists")
        user_id = uuid.uuid4()
        conn.execute(
            "insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data)"
            " values (%s, 'authenticated', 'authenticated', %s, %s, %s)",
            (
                user_id,
                data.email,
                Jsonb({"provider": "email", "providers": ["email"]}),
                Jsonb({"full_name": data.full_name}),
            ),
        )
        made = conn.execute("select 1 from public.coaches where id = %s", (user_id,)).fetchone()
        if not made:
            raise CoachAccountError(
                "the sign-up trigger made no coaches row: run `backend db migrate` first"
            )
    return NewCoach(user_id, data.email, "database")


def dev_token(
    settings: Settings,
    *,
    database_url: str,
    email: str,
    ttl_seconds: int = DEV_TOKEN_TTL_SECONDS,
    now: float | None = None,
) -> str:
    """The access token Supabase Auth would give this local coach, signed with the HS256 secret."""
    if not is_local(database_url):
        raise CoachAccountError(
            f"refusing to sign a token for {redact(database_url)}: not a local database"
        )
    if settings.supabase_url and urlsplit(settings.supabase_url).hostname not in LOCAL_HOSTS:
        raise CoachAccountError(
            "refusing to sign a token while SUPABASE_URL names a hosted project;"
            " sign in through Supabase Auth instead"
        )
    if settings.supabase_jwt_secret is None:
        raise CoachAccountError(
            "set SUPABASE_JWT_SECRET (32 characters or more) to sign and verify tokens"
        )
    require_migrated(database_url)
    with connect(database_url) as conn:
        row = conn.execute(
            "select u.id, u.email, coalesce(u.raw_user_meta_data, '{}'::jsonb)"
            " from auth.users as u join public.coaches as c on c.id = u.id"
            " where lower(u.email) = lower(%s)",
            (email,),
        ).fetchone()
    if row is None:
        raise CoachAccountError(
            f"no coach with e-mail {email}; create one with `backend coach create`"
        )
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": f"{(settings.supabase_url or 'http://127.0.0.1:54321').rstrip('/')}/auth/v1",
        "sub": str(row[0]),
        "aud": settings.supabase_jwt_audience,
        "exp": issued + ttl_seconds,
        "iat": issued,
        "email": row[1],
        "phone": "",
        "app_metadata": {"provider": "email", "providers": ["email"]},
        "user_metadata": row[2],
        "role": "authenticated",
        "aal": "aal1",
        "amr": [{"method": "password", "timestamp": issued}],
        "session_id": str(uuid.uuid4()),
        "is_anonymous": False,
    }
    secret = settings.supabase_jwt_secret.get_secret_value()
    return jwt.encode(claims, secret, algorithm="HS256")


def _message(exc: BaseException) -> str:
    text = str(getattr(exc, "message", "") or exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
