"""Supabase-shaped access tokens signed with HS256, ES256 or RS256, and the JWKS of their keys.

The project's JWKS endpoint (a Supabase-hosted service) is replaced by an
httpx transport that serves the public keys made here; nothing else is mocked.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"
JWKS_URL = "https://proj.supabase.co/auth/v1/.well-known/jwks.json"
EC_KEY = ec.generate_private_key(ec.SECP256R1())
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": "https://proj.supabase.co/auth/v1",
        "sub": str(uuid.uuid4()),
        "aud": "authenticated",
        "exp": now + 3600,
        "iat": now,
        "email": "coach@example.test",
        "phone": "",
        "app_metadata": {"provider": "email"},
        "user_metadata": {},
        "role": "authenticated",
        "aal": "aal1",
        "amr": [{"method": "password", "timestamp": now}],
        "session_id": str(uuid.uuid4()),
        "is_anonymous": False,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def hs256(**overrides: Any) -> str:
    return jwt.encode(claims(**overrides), SECRET, algorithm="HS256")


def es256(kid: str = "ec-1", **overrides: Any) -> str:
    return jwt.encode(claims(**overrides), EC_KEY, algorithm="ES256", headers={"kid": kid})


def rs256(kid: str = "rsa-1", **overrides: Any) -> str:
    return jwt.encode(claims(**overrides), RSA_KEY, algorithm="RS256", headers={"kid": kid})


def jwks() -> dict[str, Any]:
    ec_jwk = jwt.algorithms.ECAlgorithm.to_jwk(EC_KEY.public_key(), as_dict=True)
    rsa_jwk = jwt.algorithms.RSAAlgorithm.to_jwk(RSA_KEY.public_key(), as_dict=True)
    return {
        "keys": [
            {**ec_jwk, "kid": "ec-1", "alg": "ES256", "use": "sig"},
            {**rsa_jwk, "kid": "rsa-1", "alg": "RS256", "use": "sig"},
        ]
    }
