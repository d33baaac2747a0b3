"""Supabase access tokens, verified locally, and optional binding of a session to its first client.

Verification (`TokenVerifier`) needs no call to Supabase Auth per request:

- HS256 tokens are checked with SUPABASE_JWT_SECRET (the project's legacy secret);
- ES256 and RS256 tokens with the public key of their `kid`, from the project's
  JWKS (SUPABASE_JWKS_URL, usually `<SUPABASE_URL>/auth/v1/.well-known/jwks.json`),
  fetched once and cached, fetched again for an unknown `kid` (key rotation);
- always: signature, `exp` (and `nbf`/`iat` when present), `aud` (default
  `authenticated`), a UUID `sub`, and a `role` among the accepted ones
  (`authenticated`: an anon or service key is not a user).

A verified token is the user a service call runs as (`Caller.from_token`).

Session binding (`SessionBinder`, opt-in with SESSION_BINDING=true): the first
IP address and user agent seen for a token's `session_id` are remembered, as a
SHA-256 fingerprint (not the address itself), and a token of that session
presented from elsewhere is refused. The fingerprints live in Redis through
the upstash-redis client when UPSTASH_REDIS_REST_URL/TOKEN are set, so every
process agrees; otherwise in this process only (a restart forgets them and
each process binds on its own), which is fine for a single process and tests.
A user whose IP address changes (a phone moving between networks) must sign
in again: that is the price of the binding, and why it is off by default.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

import httpx
import jwt

from backend.config import Settings
from backend.errors import Unauthenticated, Unavailable

ASYMMETRIC = ("ES256", "RS256")
_NEVER = float("-inf")
# How many recently verified tokens a verifier remembers (least recently used go first).
RECENT_TOKENS = 4096
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VerifiedToken:
    """The claims of a token whose signature, expiry, audience and role were checked."""

    user_id: UUID
    role: str
    email: str | None
    session_id: str | None
    expires_at: int
    claims: Mapping[str, Any]
    token: str = field(repr=False)


# A longer token is refused unread (ACCESS_TOKEN_MAX_BYTES; Supabase's own are ~1 KB).
DEFAULT_MAX_TOKEN_BYTES = 8192


def _storable(value: Any) -> bool:
    """No string in `value` (keys included) carries a NUL or a lone surrogate."""
    if isinstance(value, str):
        return "\x00" not in value and not any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, dict):
        return all(_storable(k) and _storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_storable(item) for item in value)
    return True


def _refuse(message: str, key: str = "invalid_token") -> Unauthenticated:
    return Unauthenticated(message, key=key)


class TokenVerifier:
    """Checks Supabase access tokens locally (HS256 secret or a JWKS of ES256/RS256 keys)."""

    def __init__(
        self,
        *,
        secret: str | None = None,
        jwks_url: str | None = None,
        audience: str = "authenticated",
        issuer: str | None = None,
        accepted_roles: Collection[str] = ("authenticated",),
        leeway_seconds: float = 0,
        jwks_ttl_seconds: float = 600,
        jwks_refetch_cooldown_seconds: float = 30,
        verified_ttl_seconds: float = 10,
        max_token_bytes: int = DEFAULT_MAX_TOKEN_BYTES,
        http_client: httpx.Client | None = None,
    ) -> None:
        if not secret and not jwks_url:
            raise ValueError("token verification needs SUPABASE_JWT_SECRET or SUPABASE_JWKS_URL")
        self._secret = secret
        self._jwks_url = jwks_url
        self._audience = audience
        self._issuer = issuer
        self._roles = frozenset(accepted_roles)
        self._leeway = leeway_seconds
        self._jwks_ttl = jwks_ttl_seconds
        self._http = http_client
        self._refetch_cooldown = jwks_refetch_cooldown_seconds
        self._keys: dict[str, jwt.PyJWK] = {}
        self._keys_fetched_at = _NEVER
        self._attempted_at = _NEVER
        self._unknown_refetched_at = _NEVER
        self._lock = threading.Lock()  # held by the one thread refreshing the JWKS
        self._verified_ttl = verified_ttl_seconds
        self._max_token_bytes = max_token_bytes
        self._recent: OrderedDict[str, tuple[float, VerifiedToken]] = OrderedDict()
        self._recent_lock = threading.Lock()

    @classmethod
    def from_settings(
        cls, settings: Settings, *, http_client: httpx.Client | None = None
    ) -> TokenVerifier:
        secret = settings.supabase_jwt_secret
        return cls(
            secret=secret.get_secret_value() if secret else None,
            jwks_url=settings.jwks_url,
            audience=settings.supabase_jwt_audience,
            max_token_bytes=settings.access_token_max_bytes,
            http_client=http_client,
        )

    def verify(self, token: str) -> VerifiedToken:
        """The verified claims of `token`, or `Unauthenticated` saying what is wrong.

        A token verified in the last `verified_ttl_seconds` (10 by default) is
        not verified again, the same client sending it request after request;
        never past its `exp`.
        """
        token = self._well_formed(token)
        recent = self._recently_verified(token)
        if recent is not None:
            return recent
        verified = self._verify(token)
        self._remember(token, verified)
        return verified

    def _well_formed(self, authorization: str) -> str:
        """The token of `Bearer <token>`, refused before decoding when it can not be one:
        too long (it would be copied into every transaction), or not ASCII (a JWT is
        base64url and dots; a lone surrogate or a NUL is an attack, not a token)."""
        if not isinstance(authorization, str):
            raise _refuse("the access token is not a string")
        token = authorization.removeprefix("Bearer ").strip()
        if len(token) > self._max_token_bytes:
            raise _refuse(f"the access token is longer than {self._max_token_bytes} bytes")
        if not token.isascii() or not token.isprintable():
            raise _refuse("the access token has characters no JWT has")
        return token

    def _recently_verified(self, token: str) -> VerifiedToken | None:
        with self._recent_lock:
            entry = self._recent.get(token)
            if entry is None:
                return None
            verified_at, verified = entry
            if time.monotonic() - verified_at > self._verified_ttl or (
                time.time() >= verified.expires_at + self._leeway
            ):
                del self._recent[token]
                return None
            return verified

    def _remember(self, token: str, verified: VerifiedToken) -> None:
        if self._verified_ttl <= 0:
            return
        with self._recent_lock:
            self._recent[token] = (time.monotonic(), verified)
            self._recent.move_to_end(token)
            while len(self._recent) > RECENT_TOKENS:
                self._recent.popitem(last=False)

    def _verify(self, token: str) -> VerifiedToken:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _refuse("the access token is not a JWT") from None
        algorithm = header.get("alg")
        key = self._key_for(algorithm, header.get("kid"))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[str(algorithm)],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "sub", "role"]},
            )
        except jwt.ExpiredSignatureError:
            raise _refuse("the access token has expired", "token_expired") from None
        except jwt.InvalidAudienceError:
            raise _refuse("the access token is for another audience") from None
        except (jwt.PyJWTError, TypeError, ValueError) as exc:
            # TypeError/ValueError: a key the algorithm can not use, or a malformed part.
            raise _refuse(f"the access token is invalid: {exc}") from None
        return self._verified(claims, token)

    async def averify(self, token: str) -> VerifiedToken:
        """`verify` for asyncio code (a JWKS fetch, when one is due, runs in a thread)."""
        return await asyncio.to_thread(self.verify, token)

    def _verified(self, claims: dict[str, Any], token: str) -> VerifiedToken:
        if not _storable(claims):
            # The claims travel into every transaction as JSON: PostgreSQL refuses a NUL
            # (and a lone surrogate can not even be encoded) there.
            raise _refuse("the access token's claims carry a NUL or a lone surrogate")
        role = claims.get("role")
        if not isinstance(role, str) or role not in self._roles:
            raise _refuse(f"a token with role {role!r} does not identify a user", "invalid_role")
        sub = claims.get("sub")
        try:
            if not isinstance(sub, str):
                raise ValueError(sub)
            user_id = UUID(sub)
        except ValueError:
            raise _refuse("the access token's subject is not a user id") from None
        email = claims.get("email")
        session_id = claims.get("session_id")
        if email is not None and not isinstance(email, str):
            raise _refuse("the access token's email is not a string")
        if session_id is not None and not isinstance(session_id, str):
            raise _refuse("the access token's session id is not a string")
        return VerifiedToken(
            user_id=user_id,
            role=role,
            email=email or None,
            session_id=session_id or None,
            expires_at=int(claims["exp"]),
            claims=claims,
            token=token,
        )

    def _key_for(self, algorithm: object, kid: object) -> Any:
        if algorithm == "HS256":
            if not self._secret:
                raise _refuse("HS256 tokens are not accepted: no SUPABASE_JWT_SECRET is set")
            return self._secret
        if algorithm in ASYMMETRIC:
            if not self._jwks_url:
                raise _refuse(f"{algorithm} tokens are not accepted: no SUPABASE_JWKS_URL is set")
            key = self._public_key(kid if isinstance(kid, str) else "")
            if key.algorithm_name != algorithm:
                raise _refuse(
                    f"the access token says {algorithm} but its key {kid!r} is for"
                    f" {key.algorithm_name}"
                )
            return key
        raise _refuse(f"tokens signed with {algorithm!r} are not accepted")

    def _public_key(self, kid: str) -> jwt.PyJWK:
        """The key `kid` names, refreshing the cached JWKS when it is due.

        Verifications whose key is cached never wait on the network: one thread
        refreshes (single flight) while the others keep using the cached keys.
        An unknown `kid` refetches at most once per `jwks_refetch_cooldown_seconds`,
        and a failed refresh keeps the last good keys (retried after the cooldown).
        """
        keys = self._keys
        if self._refresh_due(kid, keys, time.monotonic()):
            keys = self._refresh(kid, wait=kid not in keys)
        key = keys.get(kid)
        if key is None:
            if self._keys_fetched_at == _NEVER:
                raise Unavailable(
                    "the project's JWKS has not been read yet", key="jwks_unavailable"
                )
            raise _refuse(f"the access token's key {kid!r} is not in the project's JWKS")
        return key

    def _refresh_due(self, kid: str, keys: Mapping[str, jwt.PyJWK], now: float) -> bool:
        cooldown = self._refetch_cooldown
        if now - self._attempted_at < cooldown and self._keys_fetched_at < self._attempted_at:
            return False  # the last attempt failed: wait before trying again
        if now - self._keys_fetched_at > self._jwks_ttl:
            return True
        return kid not in keys and now - self._unknown_refetched_at >= cooldown

    def _refresh(self, kid: str, *, wait: bool) -> dict[str, jwt.PyJWK]:
        if not self._lock.acquire(blocking=wait):
            return self._keys  # another thread is refreshing: use what is cached meanwhile
        try:
            now = time.monotonic()
            if not self._refresh_due(kid, self._keys, now):
                return self._keys  # refreshed by another thread while this one waited
            self._attempted_at = now
            if kid not in self._keys and now - self._keys_fetched_at <= self._jwks_ttl:
                self._unknown_refetched_at = now
            try:
                keys = self._fetch_keys()
            except Unavailable as exc:
                if self._keys_fetched_at == _NEVER:
                    raise
                log.warning("JWKS refresh failed, keeping the cached keys: %s", exc.message)
                return self._keys
            self._keys = keys
            self._keys_fetched_at = time.monotonic()
            return keys
        finally:
            self._lock.release()

    def _fetch_keys(self) -> dict[str, jwt.PyJWK]:
        assert self._jwks_url is not None
        try:
            client = self._http or httpx.Client(timeout=5)
            try:
                response = client.get(self._jwks_url)
                response.raise_for_status()
                document = response.json()
            finally:
                if self._http is None:
                    client.close()
            keys = jwt.PyJWKSet.from_dict(document).keys
        except (httpx.HTTPError, ValueError, TypeError, jwt.PyJWTError) as exc:
            raise Unavailable(f"could not read the JWKS: {exc}", key="jwks_unavailable") from exc
        return {
            str(k.key_id or ""): k
            for k in keys
            if k.algorithm_name in ASYMMETRIC and k.public_key_use in (None, "sig")
        }


# --- session binding ---------------------------------------------------------------------


class BindingStore(Protocol):
    """Set-if-absent with expiry: returns the value now stored under `key`."""

    def bind(self, key: str, value: str, ttl_seconds: int) -> str: ...


class InProcessBindingStore:
    """Bindings in this process's memory, with expiry."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def bind(self, key: str, value: str, ttl_seconds: int) -> str:
        now = time.monotonic()
        with self._lock:
            current = self._items.get(key)
            if current is not None and current[1] > now:
                return current[0]
            if len(self._items) > 10_000:
                self._items = {k: v for k, v in self._items.items() if v[1] > now}
            self._items[key] = (value, now + ttl_seconds)
            return value


# One round trip, atomic: keep the first value, return whichever is stored.
_BIND_SCRIPT = """
local current = redis.call('GET', KEYS[1])
if current then return current end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
return ARGV[1]
"""


class UpstashBindingStore:
    """Bindings in Upstash Redis (shared by every process), through the upstash-redis client."""

    def __init__(self, url: str, token: str, *, timeout: float = 1.0) -> None:
        from upstash_redis import Redis

        self._redis = Redis(url, token, rest_retries=0, allow_telemetry=False)
        http = getattr(self._redis, "_http", None)
        if not isinstance(getattr(http, "_client", None), httpx.Client):
            raise RuntimeError("upstash-redis changed: cannot set a request timeout on its client")
        http._client.close()  # type: ignore[union-attr]
        http._client = httpx.Client(timeout=timeout)  # type: ignore[union-attr]

    def bind(self, key: str, value: str, ttl_seconds: int) -> str:
        from upstash_redis.errors import UpstashError

        try:
            stored = self._redis.eval(_BIND_SCRIPT, keys=[key], args=[value, str(ttl_seconds)])
        except (httpx.HTTPError, UpstashError) as exc:
            raise Unavailable(
                f"session binding store failed: {exc}", key="session_store_unavailable"
            ) from exc
        return str(stored)

    def close(self) -> None:
        self._redis.close()  # type: ignore[no-untyped-call]


def fingerprint(ip: str, user_agent: str) -> str:
    """What is remembered of a client: a hash, so the store holds no IP address."""
    return hashlib.sha256(f"{ip}\n{user_agent}".encode()).hexdigest()


class SessionBinder:
    """Refuses a token whose session was first seen from another IP address or user agent."""

    def __init__(
        self,
        store: BindingStore,
        *,
        ttl_seconds: int = 7 * 24 * 3600,
        prefix: str = "backend:session:",
    ) -> None:
        self._store = store
        self._ttl = ttl_seconds
        self._prefix = prefix

    @classmethod
    def from_settings(
        cls, settings: Settings, *, prefix: str = "backend:session:"
    ) -> SessionBinder:
        """Upstash when configured, else in process (see the module's docstring)."""
        token = settings.upstash_redis_rest_token
        if settings.upstash_redis_rest_url and token:
            store: BindingStore = UpstashBindingStore(
                settings.upstash_redis_rest_url,
                token.get_secret_value(),
                timeout=settings.upstash_timeout_seconds,
            )
        else:
            store = InProcessBindingStore()
        return cls(store, ttl_seconds=settings.session_binding_ttl_seconds, prefix=prefix)

    def check(self, token: VerifiedToken, *, ip: str, user_agent: str) -> None:
        """Bind the token's session on first sight; refuse it from anywhere else afterwards."""
        if not token.session_id:
            return  # nothing to bind: the token names no session
        seen = fingerprint(ip, user_agent)
        key = f"{self._prefix}{token.session_id}"
        if self._store.bind(key, seen, self._ttl) != seen:
            raise _refuse(
                "this session was started from another device or network; sign in again",
                "session_mismatch",
            )

    async def acheck(self, token: VerifiedToken, *, ip: str, user_agent: str) -> None:
        await asyncio.to_thread(self.check, token, ip=ip, user_agent=user_agent)


class Authenticator:
    """Verification and (when enabled) session binding: a bearer token in, a user out."""

    def __init__(self, verifier: TokenVerifier, binder: SessionBinder | None = None) -> None:
        self.verifier = verifier
        self.binder = binder

    def authenticate(
        self, authorization: str | None, *, ip: str = "", user_agent: str = ""
    ) -> VerifiedToken:
        if not isinstance(authorization, str) or not authorization.strip():
            raise _refuse("no access token was given", "not_authenticated")
        token = self.verifier.verify(authorization)
        if self.binder is not None:
            self.binder.check(token, ip=ip, user_agent=user_agent)
        return token

    async def aauthenticate(
        self, authorization: str | None, *, ip: str = "", user_agent: str = ""
    ) -> VerifiedToken:
        return await asyncio.to_thread(
            self.authenticate, authorization, ip=ip, user_agent=user_agent
        )
