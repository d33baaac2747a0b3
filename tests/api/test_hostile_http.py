"""Hostile requests to the HTTP service: every one a 4xx problem, never a 500."""

from __future__ import annotations

import json

import pytest


@pytest.mark.parametrize(
    "authorization",
    [
        b"Bearer \xed\xa0\x80",  # a lone surrogate, UTF-8-style
        b"Bearer \xff\xfe",
        b"Bearer " + b"a" * 100_000,
        b"Bearer a.b.c",
    ],
    ids=["surrogate", "latin1", "oversized", "garbage"],
)
def test_an_authorization_header_no_token_could_be_is_401(api, authorization):
    answer = api.request("GET", "/clients", headers={"Authorization": authorization})

    assert answer.status_code == 401
    assert answer.json()["key"] in ("invalid_token", "not_authenticated")


@pytest.mark.parametrize(
    "body",
    [
        '{"first_name": "a\\u0000b"}',
        '{"first_name": "a\\ud800b"}',
        '{"first_name": "Ann", "notes": "\\udfff"}',
        json.dumps({"first_name": "x" * 1_000_000}),
    ],
    ids=["nul", "surrogate", "low-surrogate", "megabyte"],
)
def test_text_no_database_can_store_is_a_422_naming_the_field(api, token, body):
    answer = api.request(
        "POST",
        "/clients",
        token=token,
        content=body.encode(),
        headers={"Content-Type": "application/json"},
    )

    assert answer.status_code == 422
    assert answer.json()["errors"]
    assert len(answer.text) < 2_000


@pytest.mark.parametrize("client_id", ["123", "%00", "x" * 10_000, "'%20or%201=1"])
def test_a_client_id_that_is_not_one_is_a_4xx(api, token, client_id):
    answer = api.request("GET", f"/clients/{client_id}", token=token)

    assert 400 <= answer.status_code < 500
    assert len(answer.text) < 2_000
