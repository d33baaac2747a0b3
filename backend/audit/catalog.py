"""What the rules need to know about the audited database, read once from the catalog."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import psycopg

from backend.audit.config import AuditConfig, TableClass

API_ROLES = ("anon", "authenticated", "service_role")

_RELATIONS = """
select n.nspname, c.relname, c.relkind::text,
       exists (select from pg_catalog.pg_attribute a
               where a.attrelid = c.oid and a.attname = %(tenant_column)s
                 and a.attnum > 0 and not a.attisdropped) as has_tenant_column,
       array(select a.attname::text from pg_catalog.pg_attribute a
             where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
             order by a.attnum) as columns
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where n.nspname = any(%(schemas)s)
  and c.relkind in ('r', 'p', 'v', 'm', 'f')
  and not c.relispartition
  and not exists (select from pg_catalog.pg_depend d
                  where d.classid = 'pg_catalog.pg_class'::regclass
                    and d.objid = c.oid and d.deptype = 'e')
order by 1, 2
"""


@dataclass(frozen=True)
class Relation:
    schema: str
    name: str
    relkind: str
    has_tenant_column: bool
    table_class: TableClass | None
    columns: tuple[str, ...] = ()

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

    @property
    def tables(self) -> list[Relation]:
        return [r for r in self.relations if r.is_table]

    @property
    def views(self) -> list[Relation]:
        return [r for r in self.relations if r.relkind in ("v", "m")]

    def of_kind(self, *kinds: str) -> list[Relation]:
        return [r for r in self.tables if r.table_class and r.table_class.kind in kinds]

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
        }


def read_catalog(conn: psycopg.Connection[Any], config: AuditConfig) -> Catalog:
    rows = conn.execute(
        _RELATIONS, {"schemas": list(config.schemas), "tenant_column": config.tenant_column}
    ).fetchall()
    relations = []
    for schema, name, relkind, has_tenant, columns in rows:
        declared = config.declared(f"{schema}.{name}")
        implicit = TableClass("tenant", config.tenant_column) if has_tenant else None
        table_class = declared or (implicit if relkind in ("r", "p") else None)
        relations.append(
            Relation(schema, name, relkind, bool(has_tenant), table_class, tuple(columns))
        )
    return Catalog(config, tuple(relations))
