"""Migrations and the audit keep session state (an advisory lock, `set role`): through a
transaction pooler they refuse in one line, naming the session pooler and the direct
connection, and change nothing."""

from __future__ import annotations

import pytest

from backend.cli import main
from backend.db import migrations
from backend.db.connect import NeedsSession, shares_server_connections
from backend.db.project import find_project


def _migration_rows(pg) -> int:
    return pg.admin.execute(
        "select count(*) from supabase_migrations.schema_migrations"
    ).fetchone()[0]


def test_a_transaction_pooler_is_recognised_without_being_told(pg, pooled_url):
    assert shares_server_connections(pooled_url)
    assert not shares_server_connections(pg.url)


def test_migrate_through_a_transaction_pooler_refuses_and_names_what_to_use(pg, pooled_url):
    before = _migration_rows(pg)

    with pytest.raises(NeedsSession) as refused:
        migrations.migrate(find_project(), pooled_url)

    message = str(refused.value)
    assert "\n" not in message
    assert "session pooler (port 5432)" in message and "direct connection" in message
    assert _migration_rows(pg) == before


def test_migrate_refuses_when_the_setting_says_transaction_pooler(pg):
    with pytest.raises(NeedsSession):
        migrations.migrate(find_project(), pg.url, pool_mode="transaction")


def test_migrate_on_a_direct_connection_still_runs(pg):
    assert migrations.migrate(find_project(), pg.url).applied == []


def test_the_command_line_migrate_says_one_line_and_exits_non_zero(pooled_url, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["db", "migrate", "--db-url", pooled_url])

    assert exit_.value.code != 0
    err = capsys.readouterr().err
    assert "port 5432" in err and "transaction pooler" in err


def test_the_audit_through_a_transaction_pooler_refuses(pooled_url, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["audit", "--db-url", pooled_url])

    assert exit_.value.code == 2
    assert "session pooler (port 5432)" in capsys.readouterr().err
