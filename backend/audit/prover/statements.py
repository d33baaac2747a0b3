"""The statements the matrix runs, built from a table's shape and a row's key.

Every value is an SQL literal cast to its column's type, so a statement can be
run unchanged by any principal.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from backend.audit.prover.fixtures import Draft
from backend.audit.prover.shapes import TableShape
from backend.audit.prover.values import literal


def where_key(shape: TableShape, row: dict[str, Any]) -> sql.Composable:
    key = shape.primary_key or tuple(c for c in shape.columns if c in row)
    return sql.SQL(" and ").join(
        sql.SQL("{} = {}").format(sql.Identifier(c), literal(row[c], shape.columns[c].type))
        for c in key
    )


def select_row(shape: TableShape, row: dict[str, Any]) -> sql.Composed:
    return sql.SQL("select 1 from {} where {}").format(shape.ident, where_key(shape, row))


def update_row(
    shape: TableShape, row: dict[str, Any], column: str, value: Any = None
) -> sql.Composed:
    """`update … set column = column` (a no-op write) or `= value` for the row."""
    target = (
        sql.Identifier(column)
        if value is None
        else value
        if isinstance(value, sql.Composable)
        else literal(value, shape.columns[column].type)
    )
    return sql.SQL("update {} set {} = {} where {}").format(
        shape.ident, sql.Identifier(column), target, where_key(shape, row)
    )


def delete_row(shape: TableShape, row: dict[str, Any]) -> sql.Composed:
    return sql.SQL("delete from {} where {}").format(shape.ident, where_key(shape, row))


def truncate(shape: TableShape) -> sql.Composed:
    return sql.SQL("truncate {} cascade").format(shape.ident)


def upsert_columns(shape: TableShape, row: dict[str, Any]) -> dict[str, Any]:
    """The columns (with their values) that `upsert_row` inserts."""
    return {
        c: v
        for c, v in row.items()
        if c in shape.columns
        and (shape.columns[c].writable or c in shape.primary_key)
        and not shape.columns[c].generated
    }


def may_upsert(
    conn: psycopg.Connection[Any], shape: TableShape, row: dict[str, Any], column: str, role: str
) -> bool:
    """Whether `role` holds every privilege `upsert_row(shape, row, column)` needs.

    A table may grant INSERT and UPDATE on some columns only (say, never the
    primary key, which the database makes): then nobody of that role can
    upsert, the row's owner included.
    """
    found = conn.execute(
        "select pg_catalog.bool_and(pg_catalog.has_column_privilege(%(role)s, %(oid)s::oid, c,"
        " 'INSERT')) and pg_catalog.has_column_privilege(%(role)s, %(oid)s::oid, %(column)s,"
        " 'UPDATE') from pg_catalog.unnest(%(columns)s::text[]) as c",
        {"role": role, "oid": shape.oid, "column": column,
         "columns": list(upsert_columns(shape, row))},
    ).fetchone()  # fmt: skip
    return bool(found and found[0])


def upsert_row(shape: TableShape, row: dict[str, Any], column: str) -> sql.Composed:
    """Insert `row`; on a primary key conflict update `column` of the existing row instead."""
    keep = upsert_columns(shape, row)
    draft = Draft(shape, keep, None)
    overriding = (
        sql.SQL(" overriding system value")
        if any(shape.columns[c].identity == "a" for c in keep)
        else sql.SQL("")
    )
    return sql.SQL(
        "insert into {} ({}){} values ({}) on conflict ({}) do update set {} = excluded.{}"
    ).format(
        shape.ident,
        draft.columns_sql(),
        overriding,
        draft.values_sql(),
        sql.SQL(", ").join(sql.Identifier(c) for c in shape.primary_key),
        sql.Identifier(column),
        sql.Identifier(column),
    )


def update_column(shape: TableShape, avoid: set[str], role: str = "authenticated") -> str | None:
    """A column `role` may update that is no key, owner or foreign key column."""
    # no foreign key or unique column: a constant written to every row must stay valid
    fk_cols = {c for fk in shape.foreign_keys for c in fk.columns} | shape.unique_columns
    candidates = [
        c
        for c in shape.columns.values()
        if c.writable and c.name not in shape.primary_key and c.name not in avoid
    ]
    granted = [
        c
        for c in candidates
        if (c.authenticated_can_update if role == "authenticated" else c.service_can_update)
    ]
    for pool in (
        [c for c in granted if c.name not in fk_cols],
        granted,
        [c for c in candidates if c.name not in fk_cols],
        candidates,
    ):
        if pool:
            return pool[0].name
    return None


def privileges(conn: psycopg.Connection[Any], oid: int, role: str) -> set[str]:
    row = conn.execute(
        "select array(select p from unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE',"
        " 'TRUNCATE']) as p where pg_catalog.has_table_privilege(%(role)s, %(oid)s::oid, p)"
        " or (p in ('SELECT', 'INSERT', 'UPDATE')"
        " and pg_catalog.has_any_column_privilege(%(role)s, %(oid)s::oid, p)))",
        {"role": role, "oid": oid},
    ).fetchone()
    return set(row[0]) if row else set()
