"""The isolation matrix on the project's own schema, and what the proof promises about itself."""

from __future__ import annotations

from backend.audit.catalog import read_catalog
from backend.audit.config import load_config
from backend.audit.prover import prove_isolation
from backend.db.connect import connect
from backend.testing.isolation import assert_isolated
from tests.audit.conftest import PROJECT_CONFIG, audit

TABLE_COMMANDS = {"select", "insert", "update", "delete", "upsert"}


def _proof(url: str):
    config = load_config(PROJECT_CONFIG)
    with connect(url) as conn:
        with conn.transaction(force_rollback=True):
            catalog = read_catalog(conn, config)
        return prove_isolation(conn, catalog)


def _exposed(pg, kinds: str) -> set[str]:
    rows = pg.admin.execute(
        "select n.nspname || '.' || c.relname from pg_class c"
        " join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = 'public' and c.relkind = any(%s)",
        (list(kinds),),
    ).fetchall()
    return {r[0] for r in rows}


def _snapshot(pg) -> tuple[object, ...]:
    """The catalog of every user schema and the contents of every table, as digests."""
    catalog = pg.admin.execute(
        "select md5(string_agg(x, ',' order by x)) from ("
        " select n.nspname || '.' || c.relname || c.relkind::text || c.relrowsecurity::text"
        "   || coalesce(c.relacl::text, '') || coalesce(c.reloptions::text, '') as x"
        " from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')"
        " union all select polname || polrelid::text"
        "   || coalesce(pg_get_expr(polqual, polrelid), '')"
        " from pg_policy"
        " union all select proname || coalesce(proacl::text, '') from pg_proc) as s"
    ).fetchone()
    tables = sorted(_exposed(pg, "r") | {"auth.users"})
    contents = [
        pg.admin.execute(
            f"select count(*), md5(coalesce(string_agg(to_jsonb(t)::text, ',' order by"
            f" to_jsonb(t)::text), '')) from {name} as t"
        ).fetchone()
        for name in tables
    ]
    return (catalog, *contents)


def test_isolation_matrix_holds_on_project_schema(pg):
    proof = assert_isolated(pg.url)
    assert proof.probes > 200


def test_matrix_covers_every_table_view_and_function_of_the_catalog(pg):
    proof = _proof(pg.url)
    commands: dict[str, set[str]] = {}
    for obj, command, _, _ in proof.cells:
        commands.setdefault(obj, set()).add(command)
    for table in _exposed(pg, "rp"):
        assert commands.get(table, set()) >= TABLE_COMMANDS, table
    for view in _exposed(pg, "vm"):
        assert "select" in commands.get(view, set()), view
    functions = pg.admin.execute(
        "select count(*) from pg_proc p join pg_namespace n on n.oid = p.pronamespace"
        " where n.nspname = 'public' and p.prokind = 'f'"
        " and has_function_privilege('authenticated', p.oid, 'EXECUTE')"
    ).fetchone()[0]
    assert proof.functions >= functions


def test_every_matrix_cell_attacks_with_both_principals(pg):
    proof = _proof(pg.url)
    actors = {what.split(":")[0] for _, _, what, _ in proof.cells}
    assert {"coach A", "anon", "service_role"} <= actors


def test_audit_never_changes_the_database(pg):
    coach = pg.sign_up()
    with pg.as_coach(coach) as conn:
        conn.execute("insert into public.clients (first_name) values ('Ada')")
    before = _snapshot(pg)
    result = audit(pg.url, load_config(PROJECT_CONFIG), dynamic=True)
    assert result.probes > 0
    assert _snapshot(pg) == before


def test_proof_is_rolled_back_even_when_it_finds_a_leak(pg):
    pg.admin.execute("alter policy clients_select_own on public.clients using (true)")
    before = _snapshot(pg)
    result = audit(pg.url, load_config(PROJECT_CONFIG), dynamic=True, focus=["public.clients"])
    assert any(f.rule == "isolation_leak" and f.object == "public.clients" for f in result.findings)
    assert _snapshot(pg) == before
