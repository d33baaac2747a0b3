"""Escalation: did a call change who may do what, or rows its caller could not write itself?

Every exposed function is called by anon and by a plain signed-in user with the
victim's ids (`rpc.RpcProof`). Around each call this module compares:

- the calling transaction's own write counters per table
  (`pg_stat_xact_all_tables`): which tables the call inserted into, updated or
  deleted from, whatever path it took (definer functions, triggers);
- for those tables that decide privileges (every table of the `auth` schema,
  every exposed table with a role-like column that API roles may write or that
  a policy, a function or a view reads, every membership table of the
  configuration) and for tables the caller may not write directly, the rows
  before and after (fingerprints of each row's JSON), to name what changed.

A change there is `rpc_privilege_escalation`: the function lets its caller
raise its own or another user's privileges, create users, or change rows the
API would refuse it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

# tables that decide who may do what: a role-like column, or an enum that names a role
_PRIVILEGE_TABLES = r"""
select distinct n.nspname || '.' || c.relname
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
join pg_catalog.pg_type t on t.oid = a.atttypid
where c.relkind in ('r', 'p') and not c.relispartition
  and (n.nspname = 'auth'
       or (n.nspname = any(%(schemas)s)
           and (a.attname ~ '(^|_)(role|roles|permission|permissions|admin|superuser)$'
                or a.attname ~ '^is_(admin|superuser|owner)$'
                or (t.typtype = 'e' and exists (
                        select from pg_catalog.pg_enum e
                        where e.enumtypid = t.oid
                          and lower(e.enumlabel) in ('admin', 'owner', 'superuser'))))
           -- a role column decides something only where it is read or written: an API role
           -- may insert or update it (application code may read it), or another table's
           -- policy, a function that is not a trigger, or a view names the table; an
           -- append-only log whose column records who acted (`actor_role`) is none of these
           and (pg_catalog.has_table_privilege('anon', c.oid, 'INSERT, UPDATE')
                or pg_catalog.has_table_privilege('authenticated', c.oid, 'INSERT, UPDATE')
                or exists (
                    select from pg_catalog.pg_policy p
                    where p.polrelid <> c.oid
                      and concat_ws(' ', pg_catalog.pg_get_expr(p.polqual, p.polrelid),
                                    pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid))
                          ~ ('\m' || pg_catalog.regexp_replace(c.relname, '\W', '.', 'g') || '\M'))
                or exists (
                    select from pg_catalog.pg_proc f
                    where f.prorettype <> 'pg_catalog.trigger'::pg_catalog.regtype
                      and f.pronamespace not in ('pg_catalog'::pg_catalog.regnamespace,
                                                 'information_schema'::pg_catalog.regnamespace)
                      and f.prosrc
                          ~ ('\m' || pg_catalog.regexp_replace(c.relname, '\W', '.', 'g') || '\M'))
                or exists (
                    select from pg_catalog.pg_rewrite r
                    join pg_catalog.pg_depend d
                      on d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass
                     and d.objid = r.oid and d.refobjid = c.oid
                    where r.ev_class <> c.oid))))
order by 1
"""
_COUNTERS = """
select s.schemaname || '.' || s.relname, s.n_tup_ins, s.n_tup_upd, s.n_tup_del
from pg_catalog.pg_stat_xact_all_tables s
where s.schemaname = any(%(schemas)s)
"""
# whether `role` may change rows of a table itself: the privilege and a permissive policy
_MAY_WRITE = """
select pg_catalog.has_table_privilege(%(role)s, c.oid, %(cmd)s)
       and (not c.relrowsecurity or exists (
           select from pg_catalog.pg_policy p
           where p.polrelid = c.oid and p.polpermissive
             and (p.polroles = array[0::oid]
                  or p.polroles @> array[(select oid from pg_catalog.pg_roles
                                          where rolname = %(role)s)])
             and p.polcmd in ('*', %(code)s)))
from pg_catalog.pg_class c
where c.oid = pg_catalog.to_regclass(%(table)s)
"""
_CMD = {"inserted": ("INSERT", "a"), "updated": ("UPDATE", "w"), "deleted": ("DELETE", "d")}
_SHOWN = 160


@dataclass(frozen=True)
class Change:
    table: str
    what: str  # "inserted 1, deleted 1"
    rows: tuple[str, ...]  # the rows that appeared or disappeared, shortened

    def describe(self) -> str:
        shown = "; ".join(self.rows[:2])
        return f"{self.what} in {self.table}" + (f" ({shown})" if shown else "")


Counters = dict[str, tuple[int, int, int]]


class Escalation:
    def __init__(
        self,
        conn: psycopg.Connection[Any],
        schemas: tuple[str, ...],
        watched: tuple[str, ...] = (),
        owned: tuple[str, ...] = (),
    ) -> None:
        self.conn = conn
        self.schemas = [*schemas, "auth"]
        found = conn.execute(_PRIVILEGE_TABLES, {"schemas": list(schemas)}).fetchall()
        self.privileged = {str(r[0]) for r in found} | set(watched)
        # the owned tables' changes are judged by rpc_cross_tenant (the victim's rows)
        self.owned = set(owned)

    def counters(self) -> Counters:
        rows = self.conn.execute(_COUNTERS, {"schemas": self.schemas}).fetchall()
        return {str(t): (int(i), int(u), int(d)) for t, i, u, d in rows}

    def rows(self, tables: list[str]) -> dict[str, set[str]]:
        """Every row of `tables` as JSON text (only tables a call changed: few, and small)."""
        found = {}
        for table in tables:
            schema, _, name = table.partition(".")
            # of auth's tables, only who the row is (never a password hash or a token)
            row = (
                sql.SQL(
                    "(select pg_catalog.jsonb_object_agg(key, value)"
                    " from pg_catalog.jsonb_each(pg_catalog.to_jsonb(t))"
                    " where key in ('id', 'email', 'user_id', 'role', 'aud'))"
                )
                if schema == "auth"
                else sql.SQL("pg_catalog.to_jsonb(t)")
            )
            rows = self.conn.execute(
                sql.SQL("select {}::text from {} as t").format(row, sql.Identifier(schema, name))
            ).fetchall()
            found[table] = {str(r[0]) for r in rows}
        return found

    def written(self, before: Counters, after: Counters) -> dict[str, dict[str, int]]:
        """Per table, how many rows the call inserted, updated and deleted."""
        changed: dict[str, dict[str, int]] = {}
        for table, counts in after.items():
            old = before.get(table, (0, 0, 0))
            delta = {
                verb: new - was
                for verb, new, was in zip(_CMD, counts, old, strict=True)
                if new > was
            }
            if delta:
                changed[table] = delta
        return changed

    def suspects(self, written: dict[str, dict[str, int]], role: str) -> list[str]:
        """The written tables that decide privileges, or that `role` may not write itself."""
        found = []
        for table, verbs in written.items():
            if table in self.privileged or (
                table not in self.owned and any(not self._may(role, table, verb) for verb in verbs)
            ):
                found.append(table)
        return sorted(found)

    def _may(self, role: str, table: str, verb: str) -> bool:
        cmd, code = _CMD[verb]
        row = self.conn.execute(
            _MAY_WRITE, {"role": role, "cmd": cmd, "code": code, "table": table}
        ).fetchone()
        return bool(row and row[0])

    def changes(
        self,
        written: dict[str, dict[str, int]],
        before: dict[str, set[str]],
        after: dict[str, set[str]],
        own_ids: tuple[str, ...] = (),
    ) -> list[Change]:
        """What changed in each suspect table; a change of the caller's own rows alone is not one.

        A row that names the caller (its rate limit, its own audit entry) it could have written
        through the function's purpose; a row of a privilege table no user owns (a membership,
        a role) never is the caller's own.
        """
        found = []
        for table in sorted(after):
            appeared = sorted(after[table] - before.get(table, set()))
            gone = sorted(before.get(table, set()) - after[table])
            moved = [*appeared, *gone]
            if (
                (table not in self.privileged or table in self.owned)
                and own_ids
                and moved
                and all(any(i in row for i in own_ids) for row in moved)
            ):
                continue
            verbs = written.get(table, {})
            what = ", ".join(f"{verb} {n}" for verb, n in verbs.items())
            shown = [f"+{_short(r)}" for r in appeared] + [f"-{_short(r)}" for r in gone]
            if moved:
                found.append(Change(table, what or "changed", tuple(shown)))
        return found


def _short(row: str) -> str:
    return row if len(row) <= _SHOWN else row[: _SHOWN - 1] + "…"
