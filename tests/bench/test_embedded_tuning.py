"""The settings `backend seed --coaches` and `backend bench` give the embedded server.

The tuning test runs its own embedded server (not the suite's, which other tests
share): the settings stay in its postgresql.auto.conf and shared_buffers needs a
restart, which the function does itself.
"""

from __future__ import annotations

import os
import shutil

import pytest

from backend.db.connect import connect
from backend.db.embedded import (
    bench_settings,
    embedded_socket,
    start_embedded,
    stop_embedded,
    tune_embedded,
)
from backend.db.project import find_project

NAME = f"tuning-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
GIB = 2**30


@pytest.mark.parametrize(
    ("memory", "buffers"), [(1 * GIB, "256MB"), (8 * GIB, "2048MB"), (64 * GIB, "4096MB")]
)
def test_a_quarter_of_the_memory_goes_to_shared_buffers_at_most_4_gb(memory, buffers):
    settings = bench_settings(memory)

    assert settings["shared_buffers"] == buffers
    assert settings["max_wal_size"] == "4GB"


def test_a_machine_with_little_memory_keeps_the_default_buffers():
    assert bench_settings(256 * 2**20)["shared_buffers"] == "128MB"


def test_only_a_socket_url_names_the_embedded_server():
    assert embedded_socket("postgresql://postgres:@/bench?host=/srv/pg") == "/srv/pg"
    assert embedded_socket("postgresql://postgres@127.0.0.1:5432/postgres") is None
    assert embedded_socket("postgresql://postgres@/x?host=db.example.test") is None


def test_tuning_restarts_the_server_with_the_settings_once():
    project = find_project()
    stop_embedded(project, name=NAME)
    shutil.rmtree(project.cache_dir / "postgres" / NAME, ignore_errors=True)  # a fresh server
    try:
        changed = tune_embedded(project, name=NAME)
        again = tune_embedded(project, name=NAME)
        with connect(start_embedded(project, name=NAME).url("postgres")) as conn:
            shown = {
                name: conn.execute(f"show {name}").fetchone()[0]  # type: ignore[index]
                for name in ("shared_buffers", "max_wal_size", "random_page_cost")
            }
    finally:
        stop_embedded(project, name=NAME)

    wanted = bench_settings()
    assert f"shared_buffers = {wanted['shared_buffers']}" in changed
    assert again == []
    assert shown["max_wal_size"] == "4GB" and shown["random_page_cost"] == "1.1"
    assert _bytes(shown["shared_buffers"]) == _bytes(wanted["shared_buffers"])


def _bytes(size: str) -> int:
    units = {"kB": 2**10, "MB": 2**20, "GB": 2**30}
    for unit, factor in units.items():
        if size.endswith(unit):
            return int(size[: -len(unit)]) * factor
    return int(size)
