"""What the rules need to know about the audited database, read once from the catalog.

The exposed schemas are those of audit.toml plus those PostgREST itself is
configured to serve (`pgrst.db_schemas` on the `authenticator` role): a schema
the API serves is audited whether or not the configuration remembers it.
Partitions are relations of their own: PostgREST serves them by name, and the
row level security of their parent does not apply when they are queried
directly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

import psycopg

from backend.audit.config import AuditConfig, TableClass
from backend.audit.policy_eval import anon_refused_policies

API_ROLES = ("anon", "authenticated", "service_role")

_RELATIONS = """
select n.nspname, c.relname, c.relkind::text,
       exists (select from pg_catalog.pg_attribute a
               where a.attrelid = c.oid and a.attname = %(tenant_column)s
                 and a.attnum > 0 and not a.attisdropped) as has_tenant_column,
       array(select a.attname::text from pg_catalog.pg_attribute a
             where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
             order by a.attnum) as columns,
       array(select pg_catalog.format_type(a.atttypid, null) from pg_catalog.pg_attribute a
             where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
             order by a.attnum) as column_types,
       array(select distinct a.attname::text from pg_catalog.pg_constraint k
             join pg_catalog.pg_attribute a on a.attrelid = k.conrelid
              and a.attnum = any(k.conkey)
             where k.conrelid = c.oid and k.contype = 'f') as foreign_key_columns,
       (select pn.nspname || '.' || pc.relname from pg_catalog.pg_inherits i
        join pg_catalog.pg_class pc on pc.oid = i.inhparent
        join pg_catalog.pg_namespace pn on pn.oid = pc.relnamespace
        where i.inhrelid = c.oid and c.relispartition) as partition_of
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where n.nspname = any(%(schemas)s)
  and c.relkind in ('r', 'p', 'v', 'm', 'f')
  and not exists (select from pg_catalog.pg_depend d
                  where d.classid = 'pg_catalog.pg_class'::regclass
                    and d.objid = c.oid and d.deptype = 'e')
order by 1, 2
"""
# PostgREST's own list of exposed schemas, set on the role it logs in as
# (for this database or for all), e.g. `alter role authenticator set pgrst.db_schemas = 'api'`.
_POSTGREST_SCHEMAS = """
select pg_catalog.split_part(setting, '=', 2)
from pg_catalog.pg_db_role_setting s
join pg_catalog.pg_roles r on r.oid = s.setrole
cross join lateral unnest(s.setconfig) as setting
where r.rolname = 'authenticator' and pg_catalog.starts_with(setting, 'pgrst.db_schemas=')
  and s.setdatabase in (0, (select oid from pg_catalog.pg_database
                            where datname = pg_catalog.current_database()))
order by s.setdatabase desc
"""


@dataclass(frozen=True)
class Relation:
    schema: str
    name: str
    relkind: str
    has_tenant_column: bool
    table_class: TableClass | None
    columns: tuple[str, ...] = ()
    column_types: tuple[str, ...] = ()
    foreign_key_columns: frozenset[str] = frozenset()
    partition_of: str | None = None

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def is_table(self) -> bool:
        return self.relkind in ("r", "p")


@dataclass(frozen=True)
class Catalog:
    """The exposed relations and their classification under `audit.toml`."""

    config: AuditConfig
    relations: tuple[Relation, ...]
    # the schemas PostgREST serves that audit.toml does not list
    postgrest_only_schemas: tuple[str, ...] = ()
    # the policies applying to anon whose condition refuses it every row (policy_eval)
    anon_refused_policies: tuple[str, ...] = ()

    @property
    def tables(self) -> list[Relation]:
        return [r for r in self.relations if r.is_table]

    @property
    def views(self) -> list[Relation]:
        return [r for r in self.relations if r.relkind in ("v", "m")]

    def of_kind(self, *kinds: str) -> list[Relation]:
        return [r for r in self.tables if r.table_class and r.table_class.kind in kinds]

    def read_by(self, *audiences: str) -> list[str]:
        """The tables audit.toml says `audiences` read (`read = "authenticated"`)."""
        return [
            r.qualified
            for r in self.tables
            if r.table_class and r.table_class.allows("read") in audiences
        ]

    def params(self) -> dict[str, Any]:
        """The parameters every SQL rule may use."""
        owners = {r.qualified: r.table_class.owner for r in self.tables if r.table_class}
        return {
            "schemas": list(self.config.schemas),
            "tenant_column": self.config.tenant_column,
            "api_roles": list(API_ROLES),
            "tenant_tables": [r.qualified for r in self.of_kind("tenant", "tenant-append-only")],
            "owned_tables": [
                r.qualified for r in self.of_kind("tenant", "tenant-append-only", "per-user")
            ],
            "append_only_tables": [r.qualified for r in self.of_kind("tenant-append-only")],
            "service_only_tables": [r.qualified for r in self.of_kind("service-only")],
            "owners": json.dumps({k: v for k, v in owners.items() if v}),
            "anon_refused_policies": list(self.anon_refused_policies),
            "read_by_anon": self.read_by("anon"),
            "read_by_signed_in": self.read_by("anon", "authenticated"),
        }


def id_table(param: str, tables: list[str]) -> str | None:
    """The table whose ids a parameter takes, by name: p_client_ids -> clients."""
    stem = param.lower().lstrip("_").removeprefix("p_")
    for suffix in ("_ids", "_id"):
        if stem.endswith(suffix):
            stem = stem.removesuffix(suffix)
            break
    else:
        return None
    words = stem.split("_")
    for start in range(len(words)):
        s = "_".join(words[start:])
        for table in tables:
            name = table.rpartition(".")[2]
            if name in (s, f"{s}s", f"{s}es") or name.endswith((f"_{s}s", f"_{s}es")):
                return table
    return None


def named_table(column: str, tables: list[str]) -> str | None:
    """The table a column names: client_id, client_ids or client -> clients."""
    found = id_table(column, tables)
    if found is not None or column.endswith(("_id", "_ids")):
        return found
    # a bare name must be the table's own name, not the tail of another's (type, lesson_types)
    plural = {column, f"{column}s", f"{column}es"}
    return next((t for t in tables if t.rpartition(".")[2] in plural), None)


def parse_schema_list(setting: str) -> tuple[str, ...]:
    """PostgREST's `db-schemas` value: comma-separated names, optionally double-quoted."""
    names = (part.strip().strip('"') for part in setting.split(","))
    return tuple(name for name in names if name)


def postgrest_schemas(conn: psycopg.Connection[Any]) -> tuple[str, ...]:
    """The schemas `pgrst.db_schemas` on `authenticator` exposes (the database's own first)."""
    row = conn.execute(_POSTGREST_SCHEMAS).fetchone()
    return parse_schema_list(str(row[0])) if row else ()


def read_catalog(conn: psycopg.Connection[Any], config: AuditConfig) -> Catalog:
    served = [s for s in postgrest_schemas(conn) if s not in config.schemas]
    if served:
        config = replace(config, schemas=(*config.schemas, *served))
    rows = conn.execute(
        _RELATIONS, {"schemas": list(config.schemas), "tenant_column": config.tenant_column}
    ).fetchall()
    relations = []
    for schema, name, relkind, has_tenant, columns, types, fk_columns, parent in rows:
        # a partition is what its parent is declared to be, unless declared on its own
        declared = config.declared(f"{schema}.{name}") or (
            config.declared(parent) if parent else None
        )
        implicit = TableClass("tenant", config.tenant_column) if has_tenant else None
        table_class = declared or (implicit if relkind in ("r", "p") else None)
        relations.append(
            Relation(
                schema,
                name,
                relkind,
                bool(has_tenant),
                table_class,
                tuple(columns),
                tuple(types),
                frozenset(fk_columns),
                parent,
            )
        )
    refused = anon_refused_policies(conn, list(config.schemas))
    return Catalog(config, tuple(relations), tuple(served), refused)
