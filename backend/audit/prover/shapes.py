"""The shape of a table as the fixture generator needs it: columns, keys, checks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

_COLUMNS = """
select a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
       pg_catalog.format_type(coalesce(nullif(t.typbasetype, 0), t.oid), null),
       bt.typcategory::text, bt.typtype::text,
       case when bt.typtype = 'e' then array(
           select e.enumlabel::text from pg_catalog.pg_enum e
           where e.enumtypid = bt.oid order by e.enumsortorder) end,
       a.attnotnull, a.atthasdef, a.attidentity::text, a.attgenerated::text, a.attnum,
       pg_catalog.has_column_privilege('authenticated', a.attrelid, a.attnum, 'UPDATE'),
       pg_catalog.has_column_privilege('service_role', a.attrelid, a.attnum, 'UPDATE'),
       pg_catalog.has_column_privilege('authenticated', a.attrelid, a.attnum, 'INSERT')
from pg_catalog.pg_attribute a
join pg_catalog.pg_type t on t.oid = a.atttypid
join pg_catalog.pg_type bt on bt.oid = coalesce(nullif(t.typbasetype, 0), t.oid)
where a.attrelid = %(oid)s and a.attnum > 0 and not a.attisdropped
order by a.attnum
"""
_CONSTRAINTS = """
select k.conname, k.contype::text,
       array(select a.attname::text from unnest(k.conkey) with ordinality as u(num, i)
             join pg_catalog.pg_attribute a on a.attrelid = k.conrelid and a.attnum = u.num
             order by u.i),
       k.confrelid, pn.nspname, pc.relname,
       array(select a.attname::text from unnest(k.confkey) with ordinality as u(num, i)
             join pg_catalog.pg_attribute a on a.attrelid = k.confrelid and a.attnum = u.num
             order by u.i),
       pg_catalog.pg_get_constraintdef(k.oid)
from pg_catalog.pg_constraint k
left join pg_catalog.pg_class pc on pc.oid = k.confrelid
left join pg_catalog.pg_namespace pn on pn.oid = pc.relnamespace
where k.conrelid = %(oid)s and k.contype in ('p', 'f', 'c', 'u')
order by k.conname
"""
_LITERAL = re.compile(r"'((?:[^']|'')*)'")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    base_type: str
    category: str
    typtype: str
    labels: tuple[str, ...]
    not_null: bool
    has_default: bool
    identity: str
    generated: str
    attnum: int
    authenticated_can_update: bool
    service_can_update: bool
    authenticated_can_insert: bool = True

    @property
    def writable(self) -> bool:
        return self.identity != "a" and not self.generated


@dataclass(frozen=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]


@dataclass
class TableShape:
    oid: int
    schema: str
    name: str
    columns: dict[str, Column] = field(default_factory=dict)
    primary_key: tuple[str, ...] = ()
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    checks: dict[str, tuple[str, ...]] = field(default_factory=dict)
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    unique_columns: set[str] = field(default_factory=set)

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def ident(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)


def load_shape(conn: psycopg.Connection[Any], qualified: str) -> TableShape:
    schema, _, name = qualified.partition(".")
    row = conn.execute(
        "select c.oid from pg_catalog.pg_class c join pg_catalog.pg_namespace n"
        " on n.oid = c.relnamespace where n.nspname = %s and c.relname = %s",
        (schema, name),
    ).fetchone()
    if row is None:
        raise LookupError(f"no table {qualified}")
    shape = TableShape(int(row[0]), schema, name)
    for r in conn.execute(_COLUMNS, {"oid": shape.oid}):
        col = Column(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            tuple(r[5] or ()),
            r[6],
            r[7],
            r[8],
            r[9],
            r[10],
            r[11],
            r[12],
            r[13],
        )
        shape.columns[col.name] = col
    shape.unique_columns = {
        r[0]
        for r in conn.execute(
            "select a.attname from pg_catalog.pg_index i"
            " join pg_catalog.pg_attribute a on a.attrelid = i.indrelid"
            " and a.attnum = any(i.indkey::int2[])"
            " where i.indrelid = %(oid)s and (i.indisunique or i.indisexclusion)",
            {"oid": shape.oid},
        )
    }
    for conname, kind, cols, _, pschema, pname, pcols, definition in conn.execute(
        _CONSTRAINTS, {"oid": shape.oid}
    ):
        if kind == "p":
            shape.primary_key = tuple(cols)
        elif kind == "f":
            shape.foreign_keys.append(
                ForeignKey(conname, tuple(cols), f"{pschema}.{pname}", tuple(pcols))
            )
        elif kind == "c":
            shape.checks[conname] = tuple(cols)
            # `col = any (array['a', 'b'])` or `col in (…)`: the allowed values of one column
            if len(cols) == 1 and ("ANY (ARRAY[" in definition or " IN (" in definition):
                shape.choices[cols[0]] = tuple(
                    m.replace("''", "'") for m in _LITERAL.findall(definition)
                )
    return shape
