"""The test adapter speaks the Upstash REST protocol faithfully enough for the real clients."""

from __future__ import annotations

import base64

import httpx
import pytest
from upstash_ratelimit import SlidingWindow
from upstash_redis import Redis

from backend.testing.redis import UpstashEndpoint


@pytest.fixture
def client(upstash: UpstashEndpoint):
    with httpx.Client(
        base_url=upstash.url, headers={"Authorization": f"Bearer {upstash.token}"}
    ) as http:
        yield http


def test_strings_are_base64_when_asked_and_integers_and_null_stay_plain(client, upstash):
    key = f"{upstash.prefix}k"
    client.post("/", json=["SET", key, "héllo"])
    encoded = {"Upstash-Encoding": "base64"}

    got = client.post("/", json=["GET", key], headers=encoded).json()
    length = client.post("/", json=["STRLEN", key], headers=encoded).json()
    missing = client.post("/", json=["GET", f"{upstash.prefix}none"], headers=encoded).json()
    status = client.post("/", json=["SET", key, "x"], headers=encoded).json()

    assert base64.b64decode(got["result"]).decode() == "héllo"
    assert (length, missing, status) == ({"result": 6}, {"result": None}, {"result": "OK"})


def test_errors_come_back_as_an_error_object_with_the_redis_message(client, upstash):
    key = f"{upstash.prefix}k"
    client.post("/", json=["SET", key, "not a number"])

    response = client.post("/", json=["INCR", key])

    assert response.status_code == 400
    assert response.json() == {"error": "ERR value is not an integer or out of range"}


def test_pipeline_answers_each_command_on_its_own(client, upstash):
    key = f"{upstash.prefix}k"

    answers = client.post("/pipeline", json=[["SET", key, "v"], ["INCR", key], ["GET", key]])

    assert answers.json() == [
        {"result": "OK"},
        {"error": "ERR value is not an integer or out of range"},
        {"result": "v"},
    ]


def test_multi_exec_runs_the_commands_as_one_transaction(client, upstash):
    key = f"{upstash.prefix}k"

    answers = client.post("/multi-exec", json=[["INCR", key], ["INCR", key], ["GET", key]])

    assert answers.json() == [{"result": 1}, {"result": 2}, {"result": "2"}]


def test_arrays_keep_their_resp2_shape(client, upstash):
    key = f"{upstash.prefix}h"
    client.post("/", json=["HSET", key, "a", "1", "b", "2"])

    answer = client.post("/", json=["HGETALL", key]).json()

    assert answer == {"result": ["a", "1", "b", "2"]}


def test_a_request_without_a_token_is_refused_with_401(upstash):
    response = httpx.post(upstash.url, json=["PING"])

    assert (response.status_code, response.json()) == (401, {"error": "Unauthorized"})


def test_upstash_ratelimit_scripts_run_once_the_shebang_flag_is_dropped(client, upstash):
    """`#!lua flags=allow-key-locking` would be a syntax error (6.2) or unknown flag (7)."""
    assert SlidingWindow.SCRIPT.startswith("#!lua flags=allow-key-locking")
    keys = [f"{upstash.prefix}w:1", f"{upstash.prefix}w:0"]

    answer = client.post("/", json=["EVAL", SlidingWindow.SCRIPT, 2, *keys, 5, 1000, 60000, 1])

    assert answer.json() == {"result": 4}


def test_the_real_upstash_client_round_trips_through_the_adapter(upstash):
    redis = Redis(upstash.url, upstash.token, rest_retries=0, allow_telemetry=False)
    key = f"{upstash.prefix}k"

    redis.set(key, "v")
    values = redis.mget(key, f"{upstash.prefix}none")
    redis.close()

    assert values == ["v", None]
