"""Connection failures keep libpq's reason, and every command reads URLs the same way."""

from __future__ import annotations

import uuid

import pytest

from backend.db.connect import DatabaseUnavailable, connect
from tests.db.test_cli import run_cli


def test_a_refused_connection_says_connection_refused(capsys):
    code, _, err = run_cli(
        ["db", "status", "--db-url", "postgresql://postgres@127.0.0.1:1/x"], capsys
    )

    assert code == 1
    assert "could not connect to postgresql://postgres@127.0.0.1:1/x: Connection refused" in err
    assert len(err.strip().splitlines()) == 1


def test_an_unknown_role_names_the_role(backend_server):
    role = f"nobody_{uuid.uuid4().hex[:8]}"
    url = backend_server.admin_url.replace("postgresql://postgres", f"postgresql://{role}", 1)

    with pytest.raises(DatabaseUnavailable, match=f'role "{role}" does not exist'):
        connect(url)


@pytest.mark.parametrize(
    "command",
    [["db", "status"], ["db", "reset"], ["db", "migrate"], ["audit"], ["seed"], ["db", "types"]],
)
def test_a_url_of_another_database_is_refused_alike_by_every_command(command, capsys):
    code, _, err = run_cli([*command, "--db-url", "mysql://me:secret@db.example.com/app"], capsys)

    assert code in (1, 2)
    assert "bad database URL mysql://me:***@db.example.com/app:" in err
    assert "must start with postgres:// or postgresql://" in err
    assert "secret" not in err
