"""Reachability: the call graph from what the API exposes into every schema.

A definer view or function outside the exposed schemas is no endpoint, but an
exposed view, function, policy, trigger or column default that reaches it
(directly or through others) hands its owner's rights to whoever calls the
exposed object, and anything else that comes to call it later. The proof
judges each definer object reached as if it were exposed.

Edges come from the catalog's own dependencies (views' rules, policies,
column defaults, triggers, `begin atomic` function bodies) and, for function
bodies kept as text (plpgsql, quoted sql), from every `schema.name` they
mention that names a function or relation.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg

Node = tuple[str, int]  # ("f", function oid) or ("r", relation oid)

_SYSTEM = "('pg_catalog', 'information_schema', 'pg_toast')"
_NOT_EXTENSION = """not exists (select from pg_catalog.pg_depend e
                     where e.classid = {cls}::regclass and e.objid = {oid} and e.deptype = 'e')"""

_FUNCTIONS = f"""
select p.oid, n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid),
       p.prosecdef, p.prorettype = 'pg_catalog.trigger'::pg_catalog.regtype,
       coalesce(p.prosrc, '')
from pg_catalog.pg_proc p
join pg_catalog.pg_namespace n on n.oid = p.pronamespace
where n.nspname not in {_SYSTEM} and p.prokind = 'f'
  and {_NOT_EXTENSION.format(cls="'pg_catalog.pg_proc'", oid="p.oid")}
"""
_RELATIONS = f"""
select c.oid, n.nspname, c.relname, c.relkind::text,
       c.relkind = 'm' or (c.relkind = 'v'
           and not coalesce(c.reloptions @> array['security_invoker=true'], false)
           and not coalesce(c.reloptions @> array['security_invoker=on'], false))
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where n.nspname not in {_SYSTEM} and c.relkind in ('r', 'p', 'v', 'm', 'f')
  and {_NOT_EXTENSION.format(cls="'pg_catalog.pg_class'", oid="c.oid")}
"""
# (from relation or function, to object, to object's catalog): what each object uses
_EDGES = """
select 'r', r.ev_class, d.refobjid, d.refclassid::regclass::text
from pg_catalog.pg_depend d
join pg_catalog.pg_rewrite r on d.classid = 'pg_catalog.pg_rewrite'::regclass and d.objid = r.oid
where d.refobjid <> r.ev_class
union all
select 'r', p.polrelid, d.refobjid, d.refclassid::regclass::text
from pg_catalog.pg_policy p
join pg_catalog.pg_depend d on d.classid = 'pg_catalog.pg_policy'::regclass and d.objid = p.oid
union all
select 'r', a.adrelid, d.refobjid, d.refclassid::regclass::text
from pg_catalog.pg_attrdef a
join pg_catalog.pg_depend d on d.classid = 'pg_catalog.pg_attrdef'::regclass and d.objid = a.oid
union all
select 'r', t.tgrelid, t.tgfoid, 'pg_proc'
from pg_catalog.pg_trigger t where not t.tgisinternal
union all
select 'f', d.objid, d.refobjid, d.refclassid::regclass::text
from pg_catalog.pg_depend d
where d.classid = 'pg_catalog.pg_proc'::regclass
  and d.refclassid in ('pg_catalog.pg_proc'::regclass, 'pg_catalog.pg_class'::regclass)
"""
_NAME = re.compile(r'"?([A-Za-z_][A-Za-z0-9_]*)"?\s*\.\s*"?([A-Za-z_][A-Za-z0-9_]*)"?')


@dataclass(frozen=True)
class Reached:
    """A definer object outside the exposed schemas that an exposed object reaches."""

    kind: str  # "function" or "view"
    oid: int
    schema: str
    name: str
    signature: str
    via: str  # the exposed object it is reached from

    @property
    def qualified(self) -> str:
        if self.kind == "function":
            return f"{self.schema}.{self.name}({self.signature})"
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class _Object:
    node: Node
    schema: str
    name: str
    signature: str
    definer: bool
    trigger: bool
    kind: str

    @property
    def label(self) -> str:
        if self.kind == "function":
            return f"{self.schema}.{self.name}({self.signature})"
        return f"{self.schema}.{self.name}"


def _objects(conn: psycopg.Connection[Any]) -> tuple[dict[Node, _Object], dict[Node, str]]:
    objects: dict[Node, _Object] = {}
    bodies: dict[Node, str] = {}
    for oid, schema, name, signature, definer, trigger, body in conn.execute(_FUNCTIONS):
        node = ("f", int(oid))
        objects[node] = _Object(node, schema, name, signature, definer, trigger, "function")
        bodies[node] = body
    for oid, schema, name, relkind, definer in conn.execute(_RELATIONS):
        node = ("r", int(oid))
        kind = "view" if relkind in ("v", "m") else "table"
        objects[node] = _Object(node, schema, name, "", bool(definer), False, kind)
    return objects, bodies


def _graph(
    conn: psycopg.Connection[Any], objects: dict[Node, _Object], bodies: dict[Node, str]
) -> dict[Node, set[Node]]:
    edges: dict[Node, set[Node]] = {}
    for kind, source, target, catalog in conn.execute(_EDGES):
        to: Node = ("f", int(target)) if catalog == "pg_proc" else ("r", int(target))
        if to in objects:
            edges.setdefault((str(kind), int(source)), set()).add(to)
    by_name: dict[tuple[str, str], list[Node]] = {}
    for node, obj in objects.items():
        by_name.setdefault((obj.schema.lower(), obj.name.lower()), []).append(node)
    for node, body in bodies.items():
        for schema, name in _NAME.findall(body):
            for target in by_name.get((schema.lower(), name.lower()), ()):
                if target != node:
                    edges.setdefault(node, set()).add(target)
    return edges


def reachable_definers(
    conn: psycopg.Connection[Any], exposed_schemas: Iterable[str]
) -> list[Reached]:
    """Every definer view and non-trigger definer function outside `exposed_schemas` that an
    object of those schemas reaches, with the exposed object it is reached from."""
    exposed = set(exposed_schemas)
    objects, bodies = _objects(conn)
    edges = _graph(conn, objects, bodies)
    via: dict[Node, str] = {}
    queue: deque[Node] = deque()
    for node, obj in sorted(objects.items(), key=lambda item: item[1].label):
        if obj.schema in exposed:
            via[node] = obj.label
            queue.append(node)
    while queue:
        node = queue.popleft()
        for target in sorted(edges.get(node, ())):
            if target not in via:
                via[target] = via[node]
                queue.append(target)
    found = []
    for node, origin in via.items():
        obj = objects[node]
        if obj.schema in exposed or not obj.definer or obj.trigger or obj.kind == "table":
            continue
        found.append(Reached(obj.kind, node[1], obj.schema, obj.name, obj.signature, origin))
    return sorted(found, key=lambda r: r.qualified)
