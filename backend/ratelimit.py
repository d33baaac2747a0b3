"""Rate limits: the one place that knows the limits of docs/domain.md and enforces them.

| policy  | limit            | identifier                               |
|---------|------------------|------------------------------------------|
| auth    | 5 per 15 minutes | client IP and e-mail (`auth_identifier`) |
| payment | 10 per hour      | user id                                  |
| lesson  | 30 per minute    | user id                                  |

Every policy is a sliding window. With `UPSTASH_REDIS_REST_URL` set, the
windows live in Upstash and are counted by `upstash-ratelimit`; otherwise they
live in this process, with the same limits and the same arithmetic, and a
warning says so once per limiter (`RateLimiter.from_env()` builds one per
process).

The Upstash client has no timeout of its own, so each call gets one
(`UPSTASH_TIMEOUT_SECONDS`). When Upstash fails or is too slow, a policy fails
closed (deny) or open (allow) as configured: auth and payment closed, lesson
open by default. Every such answer is logged and marked `degraded`.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final, Literal, Protocol, get_args

import httpx
from upstash_ratelimit import Ratelimit, SlidingWindow
from upstash_ratelimit.asyncio import Ratelimit as AsyncRatelimit
from upstash_redis import Redis
from upstash_redis.asyncio import Redis as AsyncRedis

from backend.config import ConfigError, FailMode, Settings, get_settings, parse_rate
from backend.errors import RateLimited, echo

__all__ = [
    "DEGRADED_RETRY_AFTER",
    "LIMITS",
    "Decision",
    "InProcessStore",
    "Limit",
    "Policy",
    "PolicyName",
    "RateLimiter",
    "StoreKind",
    "StoreUnavailable",
    "UpstashStore",
    "auth_identifier",
    "client_ip",
    "policies_from_settings",
]

logger = logging.getLogger(__name__)

PolicyName = Literal["auth", "payment", "lesson"]
StoreKind = Literal["upstash", "in_process"]
POLICY_NAMES: Final[tuple[PolicyName, ...]] = get_args(PolicyName)


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `requests` within any sliding window of `window_seconds`."""

    requests: int
    window_seconds: float

    def __post_init__(self) -> None:
        if self.requests < 1:
            raise ValueError("a limit allows at least one request")
        if self.window_seconds < 0.001:
            raise ValueError("a window lasts at least one millisecond")

    @property
    def window_ms(self) -> int:
        return round(self.window_seconds * 1000)


# The limits of docs/domain.md, "Rate limits": the defaults that RATELIMIT_AUTH,
# RATELIMIT_PAYMENT and RATELIMIT_LESSON replace. Nothing else repeats them.
LIMITS: Final[Mapping[PolicyName, Limit]] = {
    "auth": Limit(requests=5, window_seconds=15 * 60),
    "payment": Limit(requests=10, window_seconds=60 * 60),
    "lesson": Limit(requests=30, window_seconds=60),
}

# Seconds a caller is told to wait when a policy fails closed: long enough not to
# hammer a struggling store, short enough that a blip does not lock people out.
DEGRADED_RETRY_AFTER: Final = 5.0

_DENIED_MESSAGES: Final[Mapping[PolicyName, str]] = {
    "auth": "Too many sign-in attempts",
    "payment": "Too many payment requests",
    "lesson": "Too many lesson changes",
}


@dataclass(frozen=True, slots=True)
class Policy:
    """A named limit and what to answer when the store behind it cannot."""

    name: PolicyName
    limit: Limit
    on_failure: FailMode


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to one request against one policy.

    `reset_at` is a Unix time in seconds; `retry_after` is how many seconds to
    wait before trying again (0 when allowed). `degraded` means the store could
    not be asked and the answer is the policy's failure mode, not a count.
    """

    policy: PolicyName
    allowed: bool
    limit: int
    remaining: int
    reset_at: float
    retry_after: float
    degraded: bool = False
    window_seconds: float = 0.0


def policies_from_settings(
    settings: Settings, limits: Mapping[PolicyName, Limit] | None = None
) -> dict[PolicyName, Policy]:
    """The three policies with their configured limits and failure modes.

    `limits` (tests, embedding code) overrides the settings, which override LIMITS.
    """
    configured = {
        name: Limit(*parse_rate(rate))
        for name in POLICY_NAMES
        if (rate := getattr(settings, f"ratelimit_{name}"))
    }
    chosen = {**LIMITS, **configured, **(limits or {})}
    on_failure: dict[PolicyName, FailMode] = {
        "auth": settings.ratelimit_auth_on_failure,
        "payment": settings.ratelimit_payment_on_failure,
        "lesson": settings.ratelimit_lesson_on_failure,
    }
    return {name: Policy(name, chosen[name], on_failure[name]) for name in POLICY_NAMES}


# --- identifiers ------------------------------------------------------------


def _parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = value.strip().strip('"')
    if text.startswith("["):  # "[2001:db8::1]:443"
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:  # "203.0.113.7:51234"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_ip(
    remote_addr: str | None,
    x_forwarded_for: str | Iterable[str] | None,
    trusted_hops: int,
) -> str:
    """The client's address, believing X-Forwarded-For only as far as our own proxies wrote it.

    Each trusted proxy appends the address it received the request from, so
    the entry `trusted_hops` places from the right is the last one a trusted
    proxy wrote; everything left of it is whatever the client chose to send.
    With no trusted hops the header is ignored and the socket peer is the
    client. A header shorter than the trusted chain, or an unparsable entry,
    falls back to the socket peer as well.
    """
    if trusted_hops < 0:
        raise ValueError("trusted_hops cannot be negative")
    peer = _parse_ip(remote_addr) if remote_addr else None
    fallback = str(peer) if peer is not None else (remote_addr or "unknown")
    if trusted_hops == 0 or not x_forwarded_for:
        return fallback
    headers = [x_forwarded_for] if isinstance(x_forwarded_for, str) else list(x_forwarded_for)
    hops = [hop.strip() for header in headers for hop in header.split(",") if hop.strip()]
    if len(hops) < trusted_hops:
        return fallback
    address = _parse_ip(hops[-trusted_hops])
    return str(address) if address is not None else fallback


def auth_identifier(ip: str, email: str) -> str:
    """The auth policy's identifier: one bucket per client address and e-mail.

    The e-mail is compared case-insensitively so `Ann@x.io` and `ann@x.io`
    share a bucket; an IPv6 client counts per /64, the block one subscriber
    usually holds. Both are hashed so that no e-mail or address is stored in
    Redis.
    """
    address = _parse_ip(ip)
    if isinstance(address, ipaddress.IPv6Address):
        network = ipaddress.IPv6Network((address, 64), strict=False)
        where = str(network)
    else:
        where = str(address) if address is not None else ip.strip()
    who = email.strip().casefold()
    return hashlib.sha256(f"{where}\n{who}".encode()).hexdigest()[:40]


# --- stores -----------------------------------------------------------------


class StoreUnavailable(Exception):
    """The store behind the limiter did not answer in time or answered with an error."""


class _Store(Protocol):
    @property
    def kind(self) -> StoreKind: ...

    def hit(self, policy: Policy, identifier: str) -> Decision: ...

    async def ahit(self, policy: Policy, identifier: str) -> Decision: ...

    def close(self) -> None: ...

    async def aclose(self) -> None: ...


def _decision(
    policy: Policy, *, allowed: bool, remaining: int, reset_at: float, now: float | None = None
) -> Decision:
    now = time.time() if now is None else now
    retry_after = 0.0 if allowed else max(0.0, reset_at - now)
    return Decision(
        policy=policy.name,
        allowed=allowed,
        limit=policy.limit.requests,
        remaining=max(0, remaining),
        reset_at=reset_at,
        retry_after=retry_after,
        window_seconds=policy.limit.window_seconds,
    )


class InProcessStore:
    """Sliding windows in this process, counted exactly as upstash-ratelimit's script does."""

    _PRUNE_EVERY: Final = 1024

    kind: Final = "in_process"

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}
        self._hits = 0

    def hit(self, policy: Policy, identifier: str) -> Decision:
        window_ms = policy.limit.window_ms
        tokens = policy.limit.requests
        key = f"{policy.name}:{identifier}"
        with self._lock:
            now = int(self._clock() * 1000)
            current = now // window_ms
            in_current, in_previous = self._counts(key, current)
            weighted_previous = math.floor((1 - (now % window_ms) / window_ms) * in_previous)
            allowed = weighted_previous + in_current < tokens
            if allowed:
                in_current += 1
            self._windows[key] = _Window(window_ms, current, in_current, in_previous)
            self._prune(now)
        return _decision(
            policy,
            allowed=allowed,
            remaining=tokens - (in_current + weighted_previous),
            reset_at=(current + 1) * window_ms / 1000,
            now=now / 1000,
        )

    async def ahit(self, policy: Policy, identifier: str) -> Decision:
        return self.hit(policy, identifier)

    def close(self) -> None:
        with self._lock:
            self._windows.clear()

    async def aclose(self) -> None:
        self.close()

    def _counts(self, key: str, current: int) -> tuple[int, int]:
        """Requests in the current and the previous window; called under the lock."""
        window = self._windows.get(key)
        if window is None or window.index < current - 1:
            return 0, 0
        if window.index == current - 1:
            return 0, window.count
        return window.count, window.count_before

    def _prune(self, now_ms: int) -> None:
        """Now and then forget windows too old to count; called under the lock."""
        self._hits += 1
        if self._hits % self._PRUNE_EVERY == 0:
            self._windows = {
                key: window
                for key, window in self._windows.items()
                if (window.index + 2) * window.window_ms > now_ms
            }


@dataclass(frozen=True, slots=True)
class _Window:
    window_ms: int
    index: int
    count: int
    count_before: int


# What "Upstash could not answer" looks like: a transport failure or timeout, an
# {"error": ...} reply, or a reply that is not JSON or not the promised shape.
def _upstash_decision(policy: Policy, response: Any) -> Decision:
    """The decision in upstash-ratelimit's answer, which must have the promised shape.

    Upstash (or something in its place) may answer anything: `[]`, `null`, a
    string, numbers of the wrong type. The client library passes much of it
    through or fails in its own ways (AttributeError, AssertionError, …); any
    answer that is not a boolean `allowed`, an integer `remaining` and a finite
    `reset` is a store failure, answered by the policy's failure mode.
    """
    allowed = getattr(response, "allowed", None)
    remaining = getattr(response, "remaining", None)
    reset = getattr(response, "reset", None)
    if not isinstance(allowed, bool):
        raise TypeError(f"Upstash answered allowed={echo(allowed)}, not a boolean")
    if not isinstance(remaining, int) or isinstance(remaining, bool):
        raise TypeError(f"Upstash answered remaining={echo(remaining)}, not an integer")
    if not isinstance(reset, int | float) or isinstance(reset, bool) or not math.isfinite(reset):
        raise TypeError(f"Upstash answered reset={echo(reset)}, not a time")
    return _decision(policy, allowed=allowed, remaining=remaining, reset_at=reset)


class UpstashStore:
    """Sliding windows in Upstash Redis, counted by upstash-ratelimit."""

    kind: Final = "upstash"

    def __init__(
        self,
        url: str,
        token: str,
        *,
        policies: Mapping[PolicyName, Policy],
        timeout: float,
        prefix: str,
    ) -> None:
        self._url = url
        self._token = token
        self._policies = dict(policies)
        self._timeout = timeout
        self._prefix = prefix
        redis = Redis(url, token, rest_retries=0, allow_telemetry=False, read_your_writes=False)
        _give_timeout(redis, httpx.Client(timeout=timeout))
        self._redis = redis
        self._limiters: dict[PolicyName, Ratelimit] = {
            name: Ratelimit(redis, _sliding_window(policy), prefix=prefix + name)
            for name, policy in self._policies.items()
        }
        self._async_lock = threading.Lock()
        self._async_loop: asyncio.AbstractEventLoop | None = None
        self._async_limiters: dict[PolicyName, AsyncRatelimit] = {}
        self._async_redis: AsyncRedis | None = None

    def hit(self, policy: Policy, identifier: str) -> Decision:
        started = time.monotonic()
        try:
            return _upstash_decision(policy, self._limiters[policy.name].limit(identifier))
        except Exception as exc:  # any failure or odd reply is the store's
            raise StoreUnavailable(_describe(exc, time.monotonic() - started)) from exc

    async def ahit(self, policy: Policy, identifier: str) -> Decision:
        limiter = self._async_limiter(policy.name)
        started = time.monotonic()
        try:
            # The httpx timeout bounds each phase; wait_for bounds the whole call.
            response = await asyncio.wait_for(limiter.limit(identifier), self._timeout)
            return _upstash_decision(policy, response)
        except Exception as exc:  # any failure or odd reply is the store's
            raise StoreUnavailable(_describe(exc, time.monotonic() - started)) from exc

    def close(self) -> None:
        self._redis.close()  # type: ignore[no-untyped-call]

    async def aclose(self) -> None:
        self.close()
        with self._async_lock:
            redis, self._async_redis, self._async_loop = self._async_redis, None, None
        if redis is not None:
            await redis.close()

    def _async_limiter(self, name: PolicyName) -> AsyncRatelimit:
        """The async limiter of the running event loop (httpx's async pool belongs to one loop)."""
        loop = asyncio.get_running_loop()
        with self._async_lock:
            if self._async_loop is not loop:
                redis = AsyncRedis(
                    self._url,
                    self._token,
                    rest_retries=0,
                    allow_telemetry=False,
                    read_your_writes=False,
                )
                _give_timeout(redis, httpx.AsyncClient(timeout=self._timeout))
                self._async_redis = redis
                self._async_limiters = {
                    key: AsyncRatelimit(redis, _sliding_window(policy), prefix=self._prefix + key)
                    for key, policy in self._policies.items()
                }
                self._async_loop = loop
            return self._async_limiters[name]


def _sliding_window(policy: Policy) -> SlidingWindow:
    return SlidingWindow(
        max_requests=policy.limit.requests, window=policy.limit.window_ms, unit="ms"
    )


def _give_timeout(redis: Redis | AsyncRedis, client: httpx.Client | httpx.AsyncClient) -> None:
    """Swap the Upstash client's timeout-less httpx client for one with our timeout.

    upstash-redis 1.x builds `httpx.Client(timeout=None)` and offers no option;
    fail loudly here rather than silently run without a timeout if that changes.
    """
    http = getattr(redis, "_http", None)
    previous = getattr(http, "_client", None)
    if not isinstance(previous, type(client)):
        raise RuntimeError("upstash-redis changed: cannot set a request timeout on its client")
    if isinstance(previous, httpx.Client):
        previous.close()
    http._client = client  # type: ignore[union-attr]


def _describe(exc: BaseException, elapsed: float) -> str:
    kind = "timed out" if isinstance(exc, TimeoutError | httpx.TimeoutException) else "failed"
    detail = echo(str(exc) or type(exc).__name__)
    return f"Upstash {kind} after {elapsed:.2f}s: {type(exc).__name__}: {detail}"


# --- the limiter --------------------------------------------------------------


def _warn_in_process(workers: int) -> None:
    """Say that limits are kept in process; loudly when several workers each keep their own."""
    if workers > 1:
        logger.error(
            "RATE LIMITS DO NOT HOLD: %d workers run without UPSTASH_REDIS_REST_URL, so each "
            "keeps its own windows and a caller gets up to %d times every limit; set "
            "UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN before running more than one",
            workers,
            workers,
        )
        return
    logger.warning(
        "UPSTASH_REDIS_REST_URL is not set: rate limits are kept in this process only, "
        "so each process counts separately and a restart forgets them"
    )


class RateLimiter:
    """Checks and enforces the three policies against one store.

    Build it with `from_env()` (the process-wide limiter) or `from_settings()`;
    pass `limits` to shorten windows in tests.
    """

    def __init__(self, store: _Store, policies: Mapping[PolicyName, Policy]) -> None:
        missing = set(POLICY_NAMES) - set(policies)
        if missing:
            raise ValueError(f"no policy for {', '.join(sorted(missing))}")
        self._store = store
        self._policies = dict(policies)

    @classmethod
    def from_env(cls) -> RateLimiter:
        """The process-wide limiter, built once from the environment's settings.

        One limiter per process matters when the windows are kept in process:
        every service must count into the same windows.
        """
        return _process_limiter()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        limits: Mapping[PolicyName, Limit] | None = None,
        prefix: str = "backend:ratelimit:",
    ) -> RateLimiter:
        """A new limiter: Upstash when `settings` name it, else in process (with a warning)."""
        policies = policies_from_settings(settings, limits)
        url = settings.upstash_redis_rest_url
        if url:
            token = settings.upstash_redis_rest_token
            if token is None:
                raise ConfigError(
                    "invalid setting UPSTASH_REDIS_REST_TOKEN: required with UPSTASH_REDIS_REST_URL"
                )
            store: _Store = UpstashStore(
                url,
                token.get_secret_value(),
                policies=policies,
                timeout=settings.upstash_timeout_seconds,
                prefix=prefix,
            )
        else:
            _warn_in_process(settings.web_concurrency)
            store = InProcessStore()
        return cls(store, policies)

    @property
    def store_kind(self) -> StoreKind:
        """Where the windows are kept: "upstash" or "in_process"."""
        return self._store.kind

    def policy(self, name: PolicyName) -> Policy:
        try:
            return self._policies[name]
        except KeyError:
            raise ValueError(f"unknown rate-limit policy {name!r}") from None

    def check(self, policy: PolicyName, identifier: str) -> Decision:
        """Count one request against `policy` for `identifier` and say whether it may pass."""
        chosen = self._prepare(policy, identifier)
        try:
            return self._store.hit(chosen, identifier)
        except StoreUnavailable as exc:
            return _failure_decision(chosen, exc)

    def enforce(self, policy: PolicyName, identifier: str) -> Decision:
        """Like `check`, but a refused request raises `RateLimited`."""
        return _raise_if_denied(self.check(policy, identifier))

    async def acheck(self, policy: PolicyName, identifier: str) -> Decision:
        chosen = self._prepare(policy, identifier)
        try:
            return await self._store.ahit(chosen, identifier)
        except StoreUnavailable as exc:
            return _failure_decision(chosen, exc)

    async def aenforce(self, policy: PolicyName, identifier: str) -> Decision:
        return _raise_if_denied(await self.acheck(policy, identifier))

    def close(self) -> None:
        self._store.close()

    async def aclose(self) -> None:
        await self._store.aclose()

    def _prepare(self, policy: PolicyName, identifier: str) -> Policy:
        if not identifier:
            # An empty identifier would put every caller into one shared bucket.
            raise ValueError("a rate-limit identifier cannot be empty")
        return self.policy(policy)


@lru_cache(maxsize=1)
def _process_limiter() -> RateLimiter:
    return RateLimiter.from_settings(get_settings())


def _failure_decision(policy: Policy, exc: StoreUnavailable) -> Decision:
    allowed = policy.on_failure == "open"
    log = logger.warning if allowed else logger.error
    log("rate limit %s: %s; failing %s", policy.name, exc, policy.on_failure)
    now = time.time()
    return Decision(
        policy=policy.name,
        allowed=allowed,
        limit=policy.limit.requests,
        remaining=0,
        reset_at=now + (0.0 if allowed else DEGRADED_RETRY_AFTER),
        retry_after=0.0 if allowed else DEGRADED_RETRY_AFTER,
        degraded=True,
        window_seconds=policy.limit.window_seconds,
    )


def _raise_if_denied(decision: Decision) -> Decision:
    if decision.allowed:
        return decision
    wait = max(1, math.ceil(decision.retry_after))
    reason = _DENIED_MESSAGES[decision.policy]
    if decision.degraded:
        message = f"{reason}: limits cannot be checked right now; try again in {wait} s"
    else:
        message = f"{reason}; try again in {wait} s"
    raise RateLimited(
        message,
        retry_after=decision.retry_after,
        limit=decision.limit,
        window_seconds=decision.window_seconds,
        policy=decision.policy,
    )
