"""Settings: every environment variable the backend reads, validated once at start-up."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

FailMode = Literal["open", "closed"]


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line, fit for a terminal."""


def _check_url(value: str | None, *, schemes: tuple[str, ...], name: str) -> str | None:
    if value is None or value == "":
        return None
    parts = urlsplit(value)
    if parts.scheme not in schemes:
        raise ValueError(f"{name} must start with {' or '.join(s + '://' for s in schemes)}")
    if parts.scheme in ("http", "https") and not parts.netloc:
        raise ValueError(f"{name} has no host")
    return value


def _check_conninfo(value: str, name: str = "DATABASE_URL") -> str:
    from psycopg import conninfo

    try:
        conninfo.conninfo_to_dict(value)
    except Exception as exc:  # noqa: BLE001 - any parse failure is one message
        raise ValueError(f"{name} is not a valid connection string: {exc}") from None
    return value


_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)?\s*(ms|s|m|h|d)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_rate(value: str) -> tuple[int, float]:
    """`30/60s`, `5/15m`, `10/1h` or `100/d` as (requests, window in seconds)."""
    match = _RATE.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a rate like 30/60s, 5/15m or 10/1h")
    requests, amount, unit = int(match[1]), float(match[2] or 1), match[3]
    seconds = amount * _UNIT_SECONDS[unit]
    if requests < 1 or seconds < 0.001:
        raise ValueError(f"{value!r} allows no request: give at least 1 per 1ms")
    return requests, seconds


class Settings(BaseSettings):
    """The backend's configuration, read from the environment and an optional `.env`."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    database_url: str | None = Field(
        default=None, description="PostgreSQL URL; unset means the embedded PostgreSQL."
    )
    database_read_url: str | None = Field(
        default=None, description="A read replica for the read services; unset: the primary."
    )
    # How DATABASE_URL reaches PostgreSQL; "auto": port 6543 is a transaction pooler.
    database_pool_mode: Literal["auto", "direct", "session", "transaction"] = "auto"
    supabase_url: str | None = None
    supabase_anon_key: SecretStr | None = None
    supabase_service_role_key: SecretStr | None = None
    supabase_jwt_secret: SecretStr | None = None
    supabase_jwks_url: str | None = None
    supabase_jwt_audience: str = "authenticated"
    # A longer Authorization header is refused before it is decoded (docs/reliability.md).
    access_token_max_bytes: int = Field(default=8192, ge=1024, le=65536)
    # Every transaction the direct gateway opens gets these (docs/reliability.md): user
    # requests shorter, service_role work (webhooks, jobs) longer; a role's own setting,
    # as PostgREST applies it, still wins.
    user_statement_timeout_seconds: float = Field(default=8.0, gt=0, le=600)
    user_lock_timeout_seconds: float = Field(default=3.0, gt=0, le=600)
    service_statement_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    service_lock_timeout_seconds: float = Field(default=5.0, gt=0, le=3600)
    # How long a call waits for a free pool connection before it is `Unavailable`.
    database_pool_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    upstash_redis_rest_url: str | None = None
    upstash_redis_rest_token: SecretStr | None = None
    upstash_timeout_seconds: float = Field(default=1.0, gt=0, le=30)
    ratelimit_auth_on_failure: FailMode = "closed"
    ratelimit_payment_on_failure: FailMode = "closed"
    ratelimit_lesson_on_failure: FailMode = "open"
    # Unset keeps the limits of docs/domain.md (backend.ratelimit.LIMITS).
    ratelimit_auth: str | None = None
    ratelimit_payment: str | None = None
    ratelimit_lesson: str | None = None
    trusted_proxy_hops: int = Field(default=0, ge=0, le=10)
    redis_url: str | None = None
    session_binding: bool = False
    session_binding_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60, le=90 * 24 * 3600)
    stripe_secret_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_api_base: str | None = Field(
        default=None, description="Where the Stripe client sends its calls; unset: Stripe's own."
    )
    stripe_success_url: str = (
        "http://localhost:3000/payments/success?session_id={CHECKOUT_SESSION_ID}"
    )
    stripe_cancel_url: str = "http://localhost:3000/payments/cancelled"
    cors_origins: str = Field(
        default="", description="Comma-separated origins the HTTP app answers from browsers."
    )
    sentry_dsn: str | None = None
    sentry_environment: str = "development"
    backend_cache_dir: Path | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Worker processes of this instance (uvicorn's and gunicorn's own variable).
    web_concurrency: int = Field(default=1, ge=1, le=64)

    @field_validator("database_url", "database_read_url")
    @classmethod
    def _database_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        name = (info.field_name or "database_url").upper()
        if value and "://" not in value and "=" in value:
            return _check_conninfo(value, name)  # libpq's "host=… dbname=…" form
        return _check_url(value, schemes=("postgres", "postgresql"), name=name)

    @field_validator(
        "supabase_url",
        "supabase_jwks_url",
        "upstash_redis_rest_url",
        "stripe_api_base",
        "stripe_success_url",
        "stripe_cancel_url",
    )
    @classmethod
    def _http_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        name = (info.field_name or "the URL").upper()
        return _check_url(value, schemes=("http", "https"), name=name)

    @field_validator("supabase_jwt_secret")
    @classmethod
    def _jwt_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and 0 < len(value.get_secret_value()) < 32:
            raise ValueError("is shorter than 32 characters: too weak to sign tokens with HS256")
        return value or None

    @field_validator("stripe_secret_key")
    @classmethod
    def _stripe_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value and not value.get_secret_value().startswith(("sk_", "rk_")):
            raise ValueError("must start with sk_ or rk_ (a Stripe secret or restricted key)")
        return value or None

    @field_validator("stripe_webhook_secret")
    @classmethod
    def _stripe_webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value and not value.get_secret_value().startswith("whsec_"):
            raise ValueError("must start with whsec_ (a Stripe webhook signing secret)")
        return value or None

    @model_validator(mode="after")
    def _supabase_pair(self) -> Settings:
        if self.supabase_url and not self.supabase_anon_key:
            raise ValueError("SUPABASE_ANON_KEY is required when SUPABASE_URL is set")
        return self

    @field_validator("ratelimit_auth", "ratelimit_payment", "ratelimit_lesson")
    @classmethod
    def _rate(cls, value: str | None) -> str | None:
        if value:
            parse_rate(value)
        return value or None

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        return _check_url(value, schemes=("redis", "rediss", "unix"), name="REDIS_URL")

    @field_validator("sentry_dsn")
    @classmethod
    def _sentry_dsn(cls, value: str | None) -> str | None:
        value = _check_url(value, schemes=("http", "https"), name="SENTRY_DSN")
        if value:
            parts = urlsplit(value)
            if not parts.username or not parts.path.strip("/"):
                raise ValueError("SENTRY_DSN must look like https://<key>@<host>/<project id>")
        return value

    @field_validator("cors_origins")
    @classmethod
    def _cors_origins(cls, value: str) -> str:
        for origin in (o.strip() for o in value.split(",") if o.strip()):
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
                raise ValueError(f"{origin!r} is not an origin like https://app.example.com")
        return value

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @property
    def jwks_url(self) -> str | None:
        """SUPABASE_JWKS_URL, else the project's own JWKS when only SUPABASE_URL is known."""
        if self.supabase_jwks_url:
            return self.supabase_jwks_url
        if self.supabase_url and not self.supabase_jwt_secret:
            return self.supabase_url.rstrip("/") + "/auth/v1/.well-known/jwks.json"
        return None


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning a validation failure into one readable line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]).upper()
        message = str(first["msg"]).removeprefix("Value error, ")
        if not field:
            raise ConfigError(f"invalid settings: {message}") from None
        raise ConfigError(f"invalid setting {field}: {message}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
