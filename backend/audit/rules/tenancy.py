"""Rules Supabase's linter does not have: tenancy, grants against policies, append-only.

They know which tables are tenant-owned (a `coach_id` column, or a declaration
in audit.toml) and so can see what a tenant-blind linter can not.
"""

from __future__ import annotations

from collections.abc import Iterable

from backend.audit.catalog import Catalog, named_table
from backend.audit.findings import Level
from backend.audit.rules.base import Rule

_EXPOSED = """
    n.nspname = any(%(schemas)s)
    and not exists (select from pg_catalog.pg_depend d
                    where d.classid = 'pg_catalog.pg_class'::regclass
                      and d.objid = c.oid and d.deptype = 'e')
"""
_QUALIFIED = "(n.nspname || '.' || c.relname)"
_POLICY_CMD = """case p.polcmd when 'r' then 'SELECT' when 'a' then 'INSERT'
    when 'w' then 'UPDATE' when 'd' then 'DELETE' else 'ALL' end"""
_TRUE = "('true', '(true)', '1=1', '(1=1)')"
_ANON = "(select r.oid from pg_catalog.pg_roles r where r.rolname = 'anon')"
_CMD_CHAR = (
    "case {cmd} when 'SELECT' then 'r' when 'INSERT' then 'a'"
    " when 'UPDATE' then 'w' else 'd' end::\"char\""
)


def _inert_default_grant(role: str, cmd: str) -> str:
    """SQL: privilege `cmd` of role `role` on table `c` is one the schema's default privileges
    give every new table (Supabase grants all to anon and authenticated), and with row level
    security on no permissive policy that can admit the role backs it: it does nothing today,
    and is reported once by api_default_grants instead of per table."""
    return f"""(c.relrowsecurity
  and exists (select from pg_catalog.pg_default_acl d
              cross join lateral pg_catalog.aclexplode(d.defaclacl) a
              where d.defaclobjtype = 'r' and d.defaclnamespace in (0, c.relnamespace)
                and a.grantee = {role} and a.privilege_type = {cmd})
  and not exists (
      select from pg_catalog.pg_policy p
      where p.polrelid = c.oid and p.polpermissive
        and (p.polroles @> array[{role}] or p.polroles = array[0::oid])
        and p.polcmd in ('*', {_CMD_CHAR.format(cmd=cmd)})
        and not format('%%s.%%s.%%s', n.nspname, c.relname, p.polname)
                = any(%(anon_refused_policies)s)))"""


TENANT_POLICY_ALWAYS_TRUE = Rule(
    id="tenant_policy_always_true",
    title="Always-true policy on a tenant table",
    level=Level.ERROR,
    category="tenancy",
    description="USING (true) or WITH CHECK (true) on a table whose rows belong to one coach "
    "shows or hands every coach's rows to every caller, select included (splinter lets "
    "select through on purpose; a tenant table never may).",
    remediation="Bind the policy to the owner: using (coach_id = (select auth.uid())).",
    sql=f"""
select format('%%s.%%s.%%s', n.nspname, c.relname, p.polname),
       format('policy %%s on tenant table %%s.%%s is always true for %%s',
              p.polname, n.nspname, c.relname, lower({_POLICY_CMD}))
from pg_catalog.pg_policy p
join pg_catalog.pg_class c on c.oid = p.polrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where p.polpermissive and {_QUALIFIED} = any(%(owned_tables)s)
  -- a select policy for the audience audit.toml says reads the table ("every signed-in user")
  and not (p.polcmd = 'r' and ({_QUALIFIED} = any(%(read_by_anon)s)
           or ({_QUALIFIED} = any(%(read_by_signed_in)s)
               and not p.polroles && array[0::oid, coalesce({_ANON}, 0::oid)])))
  and (regexp_replace(lower(coalesce(pg_catalog.pg_get_expr(p.polqual, p.polrelid), '')),
                      '\\s', '', 'g') in {_TRUE}
       or regexp_replace(lower(coalesce(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid),
                                        '')), '\\s', '', 'g') in {_TRUE})
order by 1
""",
)

TENANT_POLICY_TO_PUBLIC = Rule(
    id="tenant_policy_to_public",
    title="Tenant policy granted TO public",
    level=Level.ERROR,
    category="tenancy",
    description="A policy without TO applies to every role, anon included; on a tenant table "
    "anon must match no policy at all.",
    remediation="Add `to authenticated` (and another policy for service code if it needs one).",
    sql=f"""
select format('%%s.%%s.%%s', n.nspname, c.relname, p.polname),
       format('policy %%s on tenant table %%s.%%s applies to public (every role, anon included)',
              p.polname, n.nspname, c.relname)
from pg_catalog.pg_policy p
join pg_catalog.pg_class c on c.oid = p.polrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where {_QUALIFIED} = any(%(owned_tables)s) and p.polroles = array[0::oid]
  -- a condition that is null or false without a signed-in user refuses anon every row
  and not format('%%s.%%s.%%s', n.nspname, c.relname, p.polname) = any(%(anon_refused_policies)s)
order by 1
""",
)

UPDATE_POLICY_NOT_PINNED = Rule(
    id="update_policy_not_pinned",
    title="Update policy does not pin the tenant",
    level=Level.ERROR,
    category="tenancy",
    description="The WITH CHECK of an update policy (its USING when it has none) decides what "
    "a row may become; unless it says owner = auth.uid(), a coach can move its own row to "
    "another coach. On a table a BEFORE UPDATE trigger guards, lowered to info when every "
    "move the dynamic proof tried was denied.",
    remediation="with check (coach_id = (select auth.uid())).",
    sql=f"""
with policy as (
    select n.nspname, c.relname, p.polname,
           (%(owners)s::jsonb ->> {_QUALIFIED}) as owner,
           lower(coalesce(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid),
                          pg_catalog.pg_get_expr(p.polqual, p.polrelid), '')) as check_expr
    from pg_catalog.pg_policy p
    join pg_catalog.pg_class c on c.oid = p.polrelid
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where p.polpermissive and p.polcmd in ('w', '*') and {_QUALIFIED} = any(%(owned_tables)s)
      -- using (false): no row can be updated, so none can be moved
      and regexp_replace(lower(coalesce(pg_catalog.pg_get_expr(p.polqual, p.polrelid), '')),
                         '[\\s()]', '', 'g') not in ('false', 'null')
)
select format('%%s.%%s.%%s', nspname, relname, polname),
       format('update policy %%s on %%s.%%s does not check %%s = auth.uid() on the new row',
              polname, nspname, relname, owner)
from policy
where not check_expr ~ format(
          '(^|[^a-z0-9_])"?%%s"?\\s*=\\s*[(\\s]*(select\\s+)?auth\\.uid\\(\\)', owner)
  and not check_expr ~ format(
          'auth\\.uid\\(\\)(\\s+as\\s+uid)?[)\\s]*=\\s*[(\\s]*"?%%s"?([^a-z0-9_]|$)', owner)
order by 1
""",
)

GRANT_WITHOUT_POLICY = Rule(
    id="grant_without_policy",
    title="Grant without a policy",
    level=Level.WARNING,
    category="security",
    description="With row level security on, a privilege that no permissive policy backs "
    "does nothing today and leaks the day someone adds a loose policy; it also hides what "
    "the table is meant to allow.",
    remediation="Revoke the privilege, or add the policy it is meant for.",
    sql=f"""
select format('%%s.%%s', n.nspname, c.relname),
       format('%%s has %%s on %%s.%%s but no permissive policy allows it',
              r.rolname, cmd, n.nspname, c.relname)
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
cross join pg_catalog.pg_roles r
cross join unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE']) as cmd
where c.relkind in ('r', 'p') and not c.relispartition and c.relrowsecurity and {_EXPOSED}
  and r.rolname in ('anon', 'authenticated')
  and (pg_catalog.has_table_privilege(r.oid, c.oid, cmd)
       or (cmd <> 'DELETE' and pg_catalog.has_any_column_privilege(r.oid, c.oid, cmd)))
  and not exists (
      select from pg_catalog.pg_policy p
      where p.polrelid = c.oid and p.polpermissive
        and (p.polroles @> array[r.oid] or p.polroles = array[0::oid])
        and p.polcmd in ('*', case cmd when 'SELECT' then 'r' when 'INSERT' then 'a'
                                      when 'UPDATE' then 'w' else 'd' end::"char"))
  and not {_inert_default_grant("r.oid", "cmd")}
order by 1, 2
""",
)

POLICY_WITHOUT_GRANT = Rule(
    id="policy_without_grant",
    title="Policy without a grant",
    level=Level.WARNING,
    category="security",
    description="A policy for a role that lacks the privilege never runs: the feature it was "
    "written for is broken, or the grant was revoked on purpose and the policy is stale.",
    remediation="Grant the privilege the policy is for, or drop the policy.",
    sql=f"""
select format('%%s.%%s.%%s', n.nspname, c.relname, p.polname),
       format('policy %%s on %%s.%%s is for %%s %%s, which %%s has no privilege for',
              p.polname, n.nspname, c.relname, r.rolname, lower({_POLICY_CMD}), r.rolname)
from pg_catalog.pg_policy p
join pg_catalog.pg_class c on c.oid = p.polrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
join pg_catalog.pg_roles r on p.polroles @> array[r.oid]
where {_EXPOSED} and not r.rolbypassrls
  and not exists (
      select from unnest(case p.polcmd when 'r' then array['SELECT'] when 'a' then array['INSERT']
                              when 'w' then array['UPDATE'] when 'd' then array['DELETE']
                              else array['SELECT', 'INSERT', 'UPDATE', 'DELETE'] end) as cmd
      where pg_catalog.has_table_privilege(r.oid, c.oid, cmd)
         or (cmd <> 'DELETE' and pg_catalog.has_any_column_privilege(r.oid, c.oid, cmd)))
order by 1
""",
)

CROSS_TENANT_FOREIGN_KEY = Rule(
    id="cross_tenant_foreign_key",
    title="Foreign key between tenants",
    level=Level.ERROR,
    category="tenancy",
    description="A foreign key from a tenant table to another owned table that does not "
    "include coach_id on both sides lets a row point at another coach's row; with coach_id in "
    "the key, the database itself refuses it, whoever writes.",
    remediation="Add a unique (coach_id, id) to the parent and reference (coach_id, x_id).",
    sql=f"""
select format('%%s.%%s.%%s', n.nspname, c.relname, k.conname),
       format('foreign key %%s from %%s.%%s to %%s does not match %%s with %%s',
              k.conname, n.nspname, c.relname, k.confrelid::regclass,
              %(tenant_column)s::text, %(owners)s::jsonb ->> (pn.nspname || '.' || pc.relname))
from pg_catalog.pg_constraint k
join pg_catalog.pg_class c on c.oid = k.conrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
join pg_catalog.pg_class pc on pc.oid = k.confrelid
join pg_catalog.pg_namespace pn on pn.oid = pc.relnamespace
where k.contype = 'f' and {_QUALIFIED} = any(%(tenant_tables)s)
  and (pn.nspname || '.' || pc.relname) = any(%(owned_tables)s)
  and not exists (
      select from unnest(k.conkey, k.confkey) as pair(child, parent)
      join pg_catalog.pg_attribute ca on ca.attrelid = k.conrelid and ca.attnum = pair.child
      join pg_catalog.pg_attribute pa on pa.attrelid = k.confrelid and pa.attnum = pair.parent
      where ca.attname in (%(tenant_column)s, %(owners)s::jsonb ->> {_QUALIFIED})
        and pa.attname = %(owners)s::jsonb ->> (pn.nspname || '.' || pc.relname))
  -- a row may point at a row every signed-in user reads (a message in any channel)
  and not (pn.nspname || '.' || pc.relname) = any(%(read_by_signed_in)s)
order by 1
""",
)

ANON_PRIVILEGE_ON_TENANT_TABLE = Rule(
    id="anon_privilege_on_tenant_table",
    title="anon holds a privilege on a tenant table",
    level=Level.ERROR,
    category="tenancy",
    description="anon sees and changes nothing of a coach's data: any privilege it holds on an "
    "owned or service-only table is one loose policy away from a leak.",
    remediation="revoke all on … from anon (and from public).",
    sql=f"""
select format('%%s.%%s', n.nspname, c.relname),
       format('anon has %%s on %%s.%%s', string_agg(priv, ', '), n.nspname, c.relname)
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
-- what the API can send; TRUNCATE, REFERENCES and TRIGGER are left to api_default_grants
cross join unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE']) as priv
where ({_QUALIFIED} = any(%(owned_tables)s) or {_QUALIFIED} = any(%(service_only_tables)s))
  and (pg_catalog.has_table_privilege('anon', c.oid, priv)
       or (priv in ('SELECT', 'INSERT', 'UPDATE')
           and pg_catalog.has_any_column_privilege('anon', c.oid, priv)))
  and not {_inert_default_grant(_ANON, "priv")}
group by n.nspname, c.relname
order by 1
""",
)

API_DEFAULT_GRANTS = Rule(
    id="api_default_grants",
    title="Default grants to the API roles",
    level=Level.INFO,
    category="hygiene",
    description="A new Supabase project gives anon and authenticated every privilege on every "
    "new table of `public` (its default privileges), TRUNCATE, REFERENCES and TRIGGER included. "
    "With row level security on, a privilege no policy backs does nothing, and PostgREST never "
    "sends TRUNCATE, REFERENCES or TRIGGER: none of it is reachable through the API, so it is "
    "reported once per schema here instead of per table. It is still one loose policy (or one "
    "table without row level security) away from a leak; grant what each table is for instead.",
    remediation="alter default privileges in schema public revoke all on tables from anon, "
    "authenticated; revoke truncate, references, trigger on all tables in schema public from "
    "anon, authenticated;",
    sql=f"""
with defaults as (
    select n.nspname, string_agg(distinct r.rolname, ', ') as roles
    from pg_catalog.pg_namespace n
    join pg_catalog.pg_default_acl d on d.defaclnamespace in (0, n.oid) and d.defaclobjtype = 'r'
    cross join lateral pg_catalog.aclexplode(d.defaclacl) a
    join pg_catalog.pg_roles r on r.oid = a.grantee and r.rolname in ('anon', 'authenticated')
    where n.nspname = any(%(schemas)s)
    group by n.nspname
), unreachable as (
    select n.nspname, count(distinct c.oid) as tables
    from pg_catalog.pg_class c
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    cross join unnest(array['TRUNCATE', 'REFERENCES', 'TRIGGER']) as priv
    cross join unnest(array['anon', 'authenticated']) as role
    where c.relkind in ('r', 'p') and {_EXPOSED}
      and pg_catalog.to_regrole(role) is not null
      and pg_catalog.has_table_privilege(role, c.oid, priv)
    group by n.nspname
)
select coalesce(d.nspname, u.nspname),
       concat_ws('; ',
                 format('the default privileges of schema %%s give %%s every new table',
                        d.nspname, d.roles),
                 format('anon or authenticated hold TRUNCATE, REFERENCES or TRIGGER, which the '
                        'API never sends, on %%s table(s)', u.tables))
from defaults d
full join unreachable u on u.nspname = d.nspname
order by 1
""",
)

SERVICE_ONLY_TABLE_EXPOSED = Rule(
    id="service_only_table_exposed",
    title="Service-only table granted to the API roles",
    level=Level.ERROR,
    category="tenancy",
    description="A table declared service-only is read and written by trusted server code "
    "alone; a privilege of anon or authenticated on it contradicts the declaration.",
    remediation="revoke all on … from anon, authenticated.",
    sql=f"""
select format('%%s.%%s', n.nspname, c.relname),
       format('authenticated has %%s on service-only table %%s.%%s',
              string_agg(priv, ', '), n.nspname, c.relname)
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
cross join unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE']) as priv
where {_QUALIFIED} = any(%(service_only_tables)s)
  and (pg_catalog.has_table_privilege('authenticated', c.oid, priv)
       or (priv in ('SELECT', 'INSERT', 'UPDATE')
           and pg_catalog.has_any_column_privilege('authenticated', c.oid, priv)))
  and not {_inert_default_grant("'authenticated'::regrole::oid", "priv")}
group by n.nspname, c.relname
order by 1
""",
)

VIEW_WITHOUT_SECURITY_INVOKER = Rule(
    id="view_without_security_invoker",
    title="View without security_invoker",
    level=Level.ERROR,
    category="tenancy",
    description="Every view of an exposed schema must run as its caller so that the tables' "
    "row level security applies, whoever it is granted to today (splinter only reports "
    "views the API roles can already read).",
    remediation="create or replace view … with (security_invoker = true).",
    sql=f"""
select format('%%s.%%s', n.nspname, c.relname),
       format('view %%s.%%s does not have security_invoker = true', n.nspname, c.relname)
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where c.relkind = 'v' and {_EXPOSED}
  and not coalesce(c.reloptions @> array['security_invoker=true'], false)
  and not coalesce(c.reloptions @> array['security_invoker=on'], false)
order by 1
""",
)

APPEND_ONLY_TABLE_MUTABLE = Rule(
    id="append_only_table_mutable",
    title="Append-only table can be changed",
    level=Level.ERROR,
    category="tenancy",
    description="An append-only table (an audit trail) is worthless once someone can rewrite "
    "it. An API role may update, delete or truncate it unless it lacks the privilege, or row "
    "level security stops it (not for service_role, which bypasses it, and never for "
    "truncate), or a BEFORE trigger for that event refuses it.",
    remediation="revoke update, delete, truncate on … from anon, authenticated, service_role; "
    "or add a BEFORE trigger that raises.",
    sql=f"""
select format('%%s.%%s', n.nspname, c.relname),
       format('%%s may %%s append-only table %%s.%%s', r.rolname, lower(cmd), n.nspname,
              c.relname)
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
cross join pg_catalog.pg_roles r
cross join unnest(array['UPDATE', 'DELETE', 'TRUNCATE']) as cmd
where {_QUALIFIED} = any(%(append_only_tables)s) and r.rolname = any(%(api_roles)s)
  and (pg_catalog.has_table_privilege(r.oid, c.oid, cmd)
       or (cmd = 'UPDATE' and pg_catalog.has_any_column_privilege(r.oid, c.oid, cmd)))
  and not exists (
      select from pg_catalog.pg_trigger t
      where t.tgrelid = c.oid and not t.tgisinternal and t.tgenabled <> 'D'
        and (t.tgtype & 2) <> 0
        and (t.tgtype & case cmd when 'UPDATE' then 16 when 'DELETE' then 8 else 32 end) <> 0)
  and not (cmd <> 'TRUNCATE' and c.relrowsecurity and not r.rolbypassrls
           and not exists (
               select from pg_catalog.pg_policy p
               where p.polrelid = c.oid and p.polpermissive
                 and (p.polroles @> array[r.oid] or p.polroles = array[0::oid])
                 and p.polcmd in ('*', case cmd when 'UPDATE' then 'w' else 'd' end::"char")))
order by 1, 2
""",
)


def _not_classified(catalog: Catalog) -> Iterable[tuple[str, str]]:
    column = catalog.config.tenant_column
    for table in catalog.tables:
        if table.table_class is None:
            yield (
                table.qualified,
                f"table {table.qualified} has no {column} column and is not declared in "
                "audit.toml [tables]",
            )


def _classification_invalid(catalog: Catalog) -> Iterable[tuple[str, str]]:
    tables = {t.qualified: t for t in catalog.tables}
    first = catalog.config.schemas[0]
    for name, declared in catalog.config.tables.items():
        qualified = name if "." in name else f"{first}.{name}"
        table = tables.get(qualified)
        if table is None:
            yield qualified, f"audit.toml declares {name}, which is not a table of the API"
        elif declared.owner and declared.owner not in table.columns:
            yield qualified, f"audit.toml names owner column {declared.owner}, which {name} lacks"


_UUID_TYPES = ("uuid", "uuid[]")
_ID_TYPES = (*_UUID_TYPES, "bigint", "integer", "smallint", "bigint[]", "integer[]")


def _id_without_foreign_key(catalog: Catalog) -> Iterable[tuple[str, str]]:
    owned = [t.qualified for t in catalog.tables if t.table_class and t.table_class.owned]
    for table in catalog.tables:
        if table.table_class and table.table_class.kind == "tenant-append-only":
            continue  # a log keeps the ids of rows (and users) that may be gone since
        for column, type_ in zip(table.columns, table.column_types, strict=False):
            if column == "id" or column in table.foreign_key_columns:
                continue
            parent = named_table(column, owned)
            looks_like_id = type_ in _UUID_TYPES and column.endswith(("_id", "_ids"))
            if parent is not None and type_ not in _ID_TYPES:
                parent = None  # a text or jsonb column named like a table holds no id of it
            if parent is None and not looks_like_id:
                continue
            what = f"an id of {parent}" if parent else "an id"
            yield (
                f"{table.qualified}.{column}",
                f"column {column} of {table.qualified} holds {what} ({type_}) and no foreign "
                "key holds it: a row can name a row of another coach, or none",
            )


ID_WITHOUT_FOREIGN_KEY = Rule(
    id="id_without_foreign_key",
    title="Id column without a foreign key",
    level=Level.WARNING,
    category="tenancy",
    description="A column that holds another table's id (a uuid named *_id, or a column named "
    "after an owned table) with no foreign key is held by nothing: no constraint keeps it "
    "pointing at a row of the same coach, so a policy or a join that trusts it leaks, and "
    "the isolation proof has no key to attack. The proof still tries: it writes the victim's "
    "id into the column as the attacker.",
    remediation="Add a foreign key that includes the owner: foreign key (client_id, coach_id) "
    "references clients (id, coach_id). Append-only tables (logs) are not reported: their "
    "entries name rows that may be gone.",
    check=_id_without_foreign_key,
)

TABLE_NOT_CLASSIFIED = Rule(
    id="table_not_classified",
    title="Table not classified",
    level=Level.ERROR,
    category="tenancy",
    description="The isolation proof derives what every principal may do from a table's "
    "class. A table with coach_id is tenant-owned; any other exposed table must be declared "
    "in audit.toml, so that nobody adds an unowned table without saying who may see it.",
    remediation='Add the table to [tables] in audit.toml (e.g. name = "service-only"), or give '
    "it a coach_id column.",
    check=_not_classified,
)

CLASSIFICATION_INVALID = Rule(
    id="classification_invalid",
    title="Classification names a missing table or column",
    level=Level.WARNING,
    category="configuration",
    description="A declaration in audit.toml that matches no table, or names an owner column "
    "the table lacks, proves nothing and hides a rename.",
    remediation="Fix or remove the entry in audit.toml [tables].",
    check=_classification_invalid,
)

RULES = (
    TENANT_POLICY_ALWAYS_TRUE,
    TENANT_POLICY_TO_PUBLIC,
    UPDATE_POLICY_NOT_PINNED,
    GRANT_WITHOUT_POLICY,
    POLICY_WITHOUT_GRANT,
    CROSS_TENANT_FOREIGN_KEY,
    ANON_PRIVILEGE_ON_TENANT_TABLE,
    API_DEFAULT_GRANTS,
    SERVICE_ONLY_TABLE_EXPOSED,
    VIEW_WITHOUT_SECURITY_INVOKER,
    APPEND_ONLY_TABLE_MUTABLE,
    ID_WITHOUT_FOREIGN_KEY,
    TABLE_NOT_CLASSIFIED,
    CLASSIFICATION_INVALID,
)
