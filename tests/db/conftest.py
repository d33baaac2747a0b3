"""Fixtures for the migration engine's tests: a scratch project and an empty database."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.db.project import Project, find_project
from backend.testing.database import DatabaseServer


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A project with the real bootstrap and an empty migrations folder."""
    real = find_project()
    (tmp_path / "supabase").mkdir()
    shutil.copy(real.bootstrap_file, tmp_path / "supabase" / "bootstrap.sql")
    for folder in ("migrations", "views", "policies"):
        (tmp_path / folder).mkdir()
    return Project(tmp_path)


@pytest.fixture
def empty_db(backend_server: DatabaseServer) -> Iterator[str]:
    name = f"backend_empty_{uuid.uuid4().hex[:10]}"
    url = backend_server.create_database(name)
    yield url
    backend_server.drop_database(name)


def write(project: Project, relative: str, text: str) -> Path:
    path = project.root / relative
    path.write_text(text, encoding="utf-8")
    return path
