"""Whether a database carries this project's schema, asked before work that needs it.

A command run against a database that was never migrated should say so in
the words of the fix, not fail deeper with "relation does not exist".
"""

from __future__ import annotations

from backend.db.connect import connect, redact


class NotMigrated(Exception):
    """The database lacks the schema; the message says which command builds it."""


def require_migrated(url: str) -> None:
    with connect(url) as conn:
        row = conn.execute(
            "select to_regclass('supabase_migrations.schema_migrations') is not null"
            " and to_regclass('auth.users') is not null"
            " and to_regclass('public.coaches') is not null"
        ).fetchone()
    if not row or not row[0]:
        raise NotMigrated(f"{redact(url)} was never migrated: run `backend db migrate` first")
