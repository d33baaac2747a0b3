"""Settings: every variable of python.md, and a malformed one is one clear line at start-up."""

from __future__ import annotations

import pytest

from backend.config import ConfigError, load_settings


def test_defaults_need_no_environment(monkeypatch):
    for name in ("DATABASE_URL", "SUPABASE_URL", "UPSTASH_REDIS_REST_URL", "SENTRY_DSN"):
        monkeypatch.delenv(name, raising=False)

    settings = load_settings()

    assert settings.database_url is None and settings.session_binding is False


def test_every_variable_of_the_contract_is_read_from_the_environment(monkeypatch):
    env = {
        "DATABASE_URL": "postgresql://u:p@db.example:5432/app",
        "SUPABASE_URL": "https://abc.supabase.co",
        "SUPABASE_ANON_KEY": "anon",
        "SUPABASE_SERVICE_ROLE_KEY": "service",
        "SUPABASE_JWT_SECRET": "x" * 40,
        "SUPABASE_JWKS_URL": "https://abc.supabase.co/auth/v1/.well-known/jwks.json",
        "UPSTASH_REDIS_REST_URL": "https://eu1.upstash.io",
        "UPSTASH_REDIS_REST_TOKEN": "tok",
        "STRIPE_SECRET_KEY": "sk_test_123",
        "STRIPE_WEBHOOK_SECRET": "whsec_123",
        "SENTRY_DSN": "https://key@o1.ingest.sentry.io/42",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    s = load_settings()

    assert (s.database_url, s.supabase_url, s.sentry_dsn) == (
        env["DATABASE_URL"],
        env["SUPABASE_URL"],
        env["SENTRY_DSN"],
    )
    assert s.supabase_jwt_secret is not None
    assert s.supabase_jwt_secret.get_secret_value() == env["SUPABASE_JWT_SECRET"]
    assert s.stripe_webhook_secret is not None and s.upstash_redis_rest_token is not None


@pytest.mark.parametrize(
    ("overrides", "names"),
    [
        ({"database_url": "mysql://x"}, "DATABASE_URL"),
        ({"supabase_url": "ftp://abc"}, "SUPABASE_URL"),
        ({"supabase_url": "https://abc.supabase.co"}, "SUPABASE_ANON_KEY"),
        ({"supabase_jwks_url": "not a url"}, "SUPABASE_JWKS_URL"),
        ({"supabase_jwt_secret": "short"}, "SUPABASE_JWT_SECRET"),
        ({"upstash_redis_rest_url": "redis://x"}, "UPSTASH_REDIS_REST_URL"),
        ({"upstash_timeout_seconds": "soon"}, "UPSTASH_TIMEOUT_SECONDS"),
        ({"stripe_secret_key": "pk_live_1"}, "STRIPE_SECRET_KEY"),
        ({"stripe_webhook_secret": "secret"}, "STRIPE_WEBHOOK_SECRET"),
        ({"sentry_dsn": "https://sentry.io"}, "SENTRY_DSN"),
        ({"session_binding": "maybe"}, "SESSION_BINDING"),
        ({"log_level": "LOUD"}, "LOG_LEVEL"),
    ],
)
def test_a_malformed_value_is_one_line_naming_the_variable(overrides, names):
    with pytest.raises(ConfigError) as caught:
        load_settings(**overrides)

    message = str(caught.value)
    assert names in message and "\n" not in message


def test_a_malformed_environment_variable_fails_at_start_up(monkeypatch):
    monkeypatch.setenv("SENTRY_DSN", "sentry please")

    with pytest.raises(ConfigError, match="SENTRY_DSN"):
        load_settings()


def test_the_jwks_address_defaults_to_the_projects_own_when_no_secret_is_set():
    s = load_settings(supabase_url="https://abc.supabase.co", supabase_anon_key="anon")

    assert s.jwks_url == "https://abc.supabase.co/auth/v1/.well-known/jwks.json"


def test_a_jwt_secret_means_no_implicit_jwks():
    s = load_settings(
        supabase_url="https://abc.supabase.co", supabase_anon_key="a", supabase_jwt_secret="s" * 32
    )

    assert s.jwks_url is None
