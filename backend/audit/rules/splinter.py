"""Supabase's database linter (splinter), ported: every lint that applies to a database.

Each rule keeps splinter's name and level; where splinter has a known blind
spot the query here closes it (noted in the rule's description). Lints that
need runtime statistics (0005 unused_index, 0020 table_bloat), another product
(0019 pgmq, 0025 storage, 0026/0027 pg_graphql) or Auth settings (0012) are
left out; see docs/audit.md.
"""

from __future__ import annotations

from backend.audit.findings import Level
from backend.audit.rules.base import Rule

# A relation of an exposed schema that no extension owns.
_EXPOSED = """
    n.nspname = any(%(schemas)s)
    and not exists (select from pg_catalog.pg_depend d
                    where d.classid = 'pg_catalog.pg_class'::regclass
                      and d.objid = c.oid and d.deptype = 'e')
"""
# Readable through the API: anon or authenticated may select it.
_API_READABLE = """
    (pg_catalog.has_table_privilege('anon', c.oid, 'SELECT')
     or pg_catalog.has_table_privilege('authenticated', c.oid, 'SELECT'))
"""
# Supabase's own schemas, never the user's to fix (as in splinter).
_SYSTEM_SCHEMAS = """(
    'auth', 'cron', 'extensions', 'graphql', 'graphql_public', 'information_schema', 'net',
    'pgmq', 'pgsodium', 'pgsodium_masks', 'pgtle', 'pgbouncer', 'pg_catalog', 'pg_toast',
    'realtime', 'repack', 'storage', 'supabase_functions', 'supabase_migrations', 'vault'
)"""
_POLICY_CMD = """case p.polcmd when 'r' then 'SELECT' when 'a' then 'INSERT'
    when 'w' then 'UPDATE' when 'd' then 'DELETE' else 'ALL' end"""

UNINDEXED_FOREIGN_KEYS = Rule(
    id="unindexed_foreign_keys",
    title="Unindexed foreign key",
    level=Level.INFO,
    category="performance",
    splinter="0001",
    description="A foreign key whose columns do not lead any valid index makes every delete or "
    "key update of the parent scan the child table, and joins on it slow.",
    remediation="Create an index whose leading columns are the foreign key's columns.",
    sql=f"""
select format('%%s.%%s.%%s', n.nspname, c.relname, k.conname),
       format('foreign key %%s on %%s.%%s has no index starting with its columns',
              k.conname, n.nspname, c.relname)
from pg_catalog.pg_constraint k
join pg_catalog.pg_class c on c.oid = k.conrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where k.contype = 'f' and {_EXPOSED}
  and not exists (
      select from pg_catalog.pg_index i
      where i.indrelid = k.conrelid and i.indisvalid
        and (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(k.conkey)]
            @> k.conkey
        and (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(k.conkey)]
            <@ k.conkey)
order by 1
""",
)

AUTH_USERS_EXPOSED = Rule(
    id="auth_users_exposed",
    title="auth.users exposed",
    level=Level.ERROR,
    category="security",
    splinter="0002",
    description="A view or materialized view over auth.users that the API roles can read "
    "hands every user's e-mail and metadata to anyone with the anon key.",
    remediation="Drop the view, or make it security_invoker and revoke select from anon and "
    "authenticated.",
    sql=f"""
select distinct format('%%s.%%s', n.nspname, c.relname),
       format('%%s %%s.%%s reads auth.users and anon or authenticated may select it',
              case c.relkind when 'm' then 'materialized view' else 'view' end,
              n.nspname, c.relname)
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
join pg_catalog.pg_rewrite r on r.ev_class = c.oid
join pg_catalog.pg_depend d on d.classid = 'pg_catalog.pg_rewrite'::regclass and d.objid = r.oid
where c.relkind in ('v', 'm') and {_EXPOSED} and {_API_READABLE}
  and d.refobjid = pg_catalog.to_regclass('auth.users')
  and (c.relkind = 'm'
       or not coalesce(c.reloptions @> array['security_invoker=true'], false)
       or pg_catalog.has_table_privilege('authenticated', d.refobjid, 'SELECT'))
order by 1
""",
)

AUTH_RLS_INITPLAN = Rule(
    id="auth_rls_initplan",
    title="Auth function evaluated per row",
    level=Level.WARNING,
    category="performance",
    splinter="0003",
    description="A policy that calls auth.uid(), auth.jwt(), auth.role(), auth.email() or "
    "current_setting() outside a sub-select runs it once per row instead of once per query. "
    "Unlike splinter, a policy that wraps one call and not another is reported too.",
    remediation="Write (select auth.uid()) instead of auth.uid() everywhere in the policy.",
    sql=f"""
with policy as (
    select n.nspname, c.relname, p.polname,
           lower(coalesce(pg_catalog.pg_get_expr(p.polqual, p.polrelid), '') || ' '
                 || coalesce(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), '')) as expr
    from pg_catalog.pg_policy p
    join pg_catalog.pg_class c on c.oid = p.polrelid
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where {_EXPOSED} and c.relrowsecurity
)
select format('%%s.%%s.%%s', nspname, relname, polname),
       format('policy %%s on %%s.%%s calls an auth function or current_setting() per row',
              polname, nspname, relname)
from policy
where regexp_count(expr, '(auth\\.(uid|jwt|role|email)|current_setting)\\(')
    > regexp_count(expr, 'select\\s+(auth\\.(uid|jwt|role|email)|current_setting)\\(')
order by 1
""",
)

NO_PRIMARY_KEY = Rule(
    id="no_primary_key",
    title="No primary key",
    level=Level.INFO,
    category="performance",
    splinter="0004",
    description="A table without a primary key can not be updated row by row through the API "
    "and replicates badly.",
    remediation="Add a primary key.",
    sql=f"""
select format('%%s.%%s', n.nspname, c.relname),
       format('table %%s.%%s has no primary key', n.nspname, c.relname)
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r', 'p') and not c.relispartition and {_EXPOSED}
  and not exists (select from pg_catalog.pg_constraint k
                  where k.conrelid = c.oid and k.contype = 'p')
order by 1
""",
)

MULTIPLE_PERMISSIVE_POLICIES = Rule(
    id="multiple_permissive_policies",
    title="Multiple permissive policies",
    level=Level.WARNING,
    category="performance",
    splinter="0006",
    description="Two permissive policies for one role and command are OR-ed: both run for "
    "every row, and the looser one decides who sees what.",
    remediation="Merge them into one policy per role and command.",
    sql=f"""
select format('%%s.%%s', n.nspname, c.relname),
       format('table %%s.%%s has %%s permissive policies for role %%s and %%s: %%s',
              n.nspname, c.relname, count(*), r.rolname, cmd,
              string_agg(p.polname, ', ' order by p.polname))
from pg_catalog.pg_policy p
join pg_catalog.pg_class c on c.oid = p.polrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
join pg_catalog.pg_roles r on p.polroles @> array[r.oid] or p.polroles = array[0::oid]
cross join lateral unnest(case p.polcmd when 'r' then array['SELECT'] when 'a' then array['INSERT']
    when 'w' then array['UPDATE'] when 'd' then array['DELETE']
    else array['SELECT', 'INSERT', 'UPDATE', 'DELETE'] end) as cmd
where p.polpermissive and {_EXPOSED}
  and r.rolname not like 'pg\\_%%' and r.rolname not like 'supabase%%admin' and not r.rolbypassrls
  and (r.rolname = any(%(api_roles)s) or p.polroles <> array[0::oid])
group by n.nspname, c.relname, r.rolname, cmd
having count(*) > 1
order by 1, 2
""",
)

POLICY_EXISTS_RLS_DISABLED = Rule(
    id="policy_exists_rls_disabled",
    title="Policy exists, RLS disabled",
    level=Level.ERROR,
    category="security",
    splinter="0007",
    description="Policies do nothing while row level security is off: the table looks "
    "protected and is not.",
    remediation="alter table … enable row level security.",
    sql=f"""
select format('%%s.%%s', n.nspname, c.relname),
       format('table %%s.%%s has policies (%%s) but row level security is disabled',
              n.nspname, c.relname, string_agg(p.polname, ', ' order by p.polname))
from pg_catalog.pg_policy p
join pg_catalog.pg_class c on c.oid = p.polrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where not c.relrowsecurity and {_EXPOSED}
group by n.nspname, c.relname
order by 1
""",
)

RLS_ENABLED_NO_POLICY = Rule(
    id="rls_enabled_no_policy",
    title="RLS enabled, no policy",
    level=Level.INFO,
    category="security",
    splinter="0008",
    description="With row level security on and no policy, the API roles see nothing: fine "
    "for a service-only table (those are not reported), a mistake anywhere else.",
    remediation="Add the policies the table needs, or classify it service-only in audit.toml.",
    sql=f"""
select format('%%s.%%s', n.nspname, c.relname),
       format('table %%s.%%s has row level security on and no policy', n.nspname, c.relname)
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r', 'p') and c.relrowsecurity and {_EXPOSED}
  and not (n.nspname || '.' || c.relname) = any(%(service_only_tables)s)
  and not exists (select from pg_catalog.pg_policy p where p.polrelid = c.oid)
order by 1
""",
)

DUPLICATE_INDEX = Rule(
    id="duplicate_index",
    title="Duplicate index",
    level=Level.WARNING,
    category="performance",
    splinter="0009",
    description="Identical indexes cost every write twice and help no read.",
    remediation="Drop all but one of them.",
    sql=f"""
select format('%%s.%%s', n.nspname, c.relname),
       format('table %%s.%%s has identical indexes %%s', n.nspname, c.relname,
              string_agg(i.indexrelid::regclass::text, ', ' order by i.indexrelid::regclass::text))
from pg_catalog.pg_index i
join pg_catalog.pg_class c on c.oid = i.indrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r', 'p', 'm') and {_EXPOSED}
group by n.nspname, c.relname, i.indkey::text, i.indclass::text, i.indcollation::text,
         i.indoption::text, coalesce(pg_catalog.pg_get_expr(i.indexprs, i.indrelid), ''),
         coalesce(pg_catalog.pg_get_expr(i.indpred, i.indrelid), ''),
         (select amname from pg_catalog.pg_class ic join pg_catalog.pg_am am on am.oid = ic.relam
          where ic.oid = i.indexrelid)
having count(*) > 1
order by 1
""",
)

SECURITY_DEFINER_VIEW = Rule(
    id="security_definer_view",
    title="Security definer view",
    level=Level.ERROR,
    category="security",
    splinter="0010",
    description="A view without security_invoker reads its tables as the view's owner, so "
    "row level security of those tables does not apply to the API roles that select it.",
    remediation="create or replace view … with (security_invoker = true).",
    sql=f"""
select format('%%s.%%s', n.nspname, c.relname),
       format('view %%s.%%s runs as its owner and anon or authenticated may select it',
              n.nspname, c.relname)
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where c.relkind = 'v' and {_EXPOSED} and {_API_READABLE}
  and not coalesce(c.reloptions @> array['security_invoker=true'], false)
  and not coalesce(c.reloptions @> array['security_invoker=on'], false)
order by 1
""",
)

FUNCTION_SEARCH_PATH_MUTABLE = Rule(
    id="function_search_path_mutable",
    title="Function search_path mutable",
    level=Level.WARNING,
    category="security",
    splinter="0011",
    description="A function without a fixed search_path resolves names through the caller's "
    "search_path, so a caller can make it run objects of its choosing.",
    remediation="alter function … set search_path = '' (and qualify names in the body).",
    sql=f"""
select format('%%s.%%s(%%s)', n.nspname, p.proname,
              pg_catalog.pg_get_function_identity_arguments(p.oid)),
       format('function %%s.%%s has a role mutable search_path', n.nspname, p.proname)
from pg_catalog.pg_proc p
join pg_catalog.pg_namespace n on n.oid = p.pronamespace
where n.nspname not in {_SYSTEM_SCHEMAS} and n.nspname not like 'pg\\_%%'
  and not exists (select from pg_catalog.pg_depend d
                  where d.classid = 'pg_catalog.pg_proc'::regclass
                    and d.objid = p.oid and d.deptype = 'e')
  and not exists (select from unnest(coalesce(p.proconfig, '{{}}')) as setting
                  where setting like 'search\\_path=%%')
order by 1
""",
)

RLS_DISABLED_IN_PUBLIC = Rule(
    id="rls_disabled_in_public",
    title="RLS disabled in an exposed schema",
    level=Level.ERROR,
    category="security",
    splinter="0013",
    description="A table of an exposed schema without row level security is open to every "
    "role that holds a grant on it. Unlike splinter, partitioned tables, partitions (queried "
    "by name, they do not get their parent's policies) and tables granted only insert, update "
    "or delete are reported too.",
    remediation="alter table … enable row level security, then add policies.",
    sql=f"""
select format('%%s.%%s', n.nspname, c.relname),
       format('table %%s.%%s is exposed and row level security is disabled', n.nspname, c.relname)
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r', 'p') and not c.relrowsecurity and {_EXPOSED}
order by 1
""",
)

EXTENSION_IN_PUBLIC = Rule(
    id="extension_in_public",
    title="Extension in an exposed schema",
    level=Level.WARNING,
    category="security",
    splinter="0014",
    description="An extension's functions and tables in an exposed schema become part of the "
    "API and can shadow names used by policies.",
    remediation="Install it in the schema extensions: alter extension … set schema extensions.",
    sql="""
select e.extname,
       format('extension %%s is installed in the exposed schema %%s', e.extname, n.nspname)
from pg_catalog.pg_extension e
join pg_catalog.pg_namespace n on n.oid = e.extnamespace
where n.nspname = any(%(schemas)s)
order by 1
""",
)

RLS_REFERENCES_USER_METADATA = Rule(
    id="rls_references_user_metadata",
    title="Policy reads user_metadata",
    level=Level.ERROR,
    category="security",
    splinter="0015",
    description="user_metadata (raw_user_meta_data) is editable by the user it describes: a "
    "policy that trusts it lets users grant themselves access.",
    remediation="Decide access from app_metadata or from your own tables.",
    sql="""
select format('%%s.%%s.%%s', n.nspname, c.relname, p.polname),
       format('policy %%s on %%s.%%s reads user_metadata', p.polname, n.nspname, c.relname)
from pg_catalog.pg_policy p
join pg_catalog.pg_class c on c.oid = p.polrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where lower(coalesce(pg_catalog.pg_get_expr(p.polqual, p.polrelid), '') || ' '
            || coalesce(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), ''))
      ~ '(user_metadata|raw_user_meta_data)'
order by 1
""",
)

MATERIALIZED_VIEW_IN_API = Rule(
    id="materialized_view_in_api",
    title="Materialized view in the API",
    level=Level.WARNING,
    category="security",
    splinter="0016",
    description="A materialized view has no row level security: whoever may select it sees "
    "every row of every tenant.",
    remediation="Move it out of the exposed schema or revoke select from anon and authenticated.",
    sql=f"""
select format('%%s.%%s', n.nspname, c.relname),
       format('materialized view %%s.%%s is readable through the API', n.nspname, c.relname)
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where c.relkind = 'm' and {_EXPOSED} and {_API_READABLE}
order by 1
""",
)

FOREIGN_TABLE_IN_API = Rule(
    id="foreign_table_in_api",
    title="Foreign table in the API",
    level=Level.WARNING,
    category="security",
    splinter="0017",
    description="A foreign table has no row level security: whoever may select it sees all of it.",
    remediation="Move it out of the exposed schema or revoke select from anon and authenticated.",
    sql=f"""
select format('%%s.%%s', n.nspname, c.relname),
       format('foreign table %%s.%%s is readable through the API', n.nspname, c.relname)
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where c.relkind = 'f' and {_EXPOSED} and {_API_READABLE}
order by 1
""",
)

UNSUPPORTED_REG_TYPES = Rule(
    id="unsupported_reg_types",
    title="Unsupported reg* type",
    level=Level.WARNING,
    category="security",
    splinter="0018",
    description="Columns of the reg* types that store OIDs (regproc, regoper, …) block "
    "pg_upgrade, so the database can not be upgraded.",
    remediation="Store the name as text instead.",
    sql=f"""
select format('%%s.%%s.%%s', n.nspname, c.relname, a.attname),
       format('column %%s.%%s.%%s has type %%s, which blocks pg_upgrade',
              n.nspname, c.relname, a.attname, a.atttypid::regtype)
from pg_catalog.pg_attribute a
join pg_catalog.pg_class c on c.oid = a.attrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where a.attnum > 0 and not a.attisdropped
  and a.atttypid::regtype::text in ('regcollation', 'regconfig', 'regdictionary',
      'regnamespace', 'regoper', 'regoperator', 'regproc', 'regprocedure')
  and n.nspname not in {_SYSTEM_SCHEMAS} and n.nspname not like 'pg\\_%%'
  and c.relkind in ('r', 'p', 'm')
order by 1
""",
)

FKEY_TO_AUTH_UNIQUE = Rule(
    id="fkey_to_auth_unique",
    title="Foreign key to a unique constraint of auth",
    level=Level.ERROR,
    category="security",
    splinter="0021",
    description="Supabase may drop or change auth's non-primary unique constraints; a foreign "
    "key that depends on one breaks Auth upgrades.",
    remediation="Reference the primary key (auth.users.id) instead.",
    sql="""
select format('%%s.%%s.%%s', n.nspname, c.relname, k.conname),
       format('foreign key %%s references %%s through a non-primary unique index',
              k.conname, k.confrelid::regclass)
from pg_catalog.pg_constraint k
join pg_catalog.pg_class c on c.oid = k.conrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
join pg_catalog.pg_class pc on pc.oid = k.confrelid
join pg_catalog.pg_index i on i.indexrelid = k.conindid
where k.contype = 'f' and pc.relnamespace = 'auth'::regnamespace and not i.indisprimary
order by 1
""",
)

EXTENSION_VERSIONS_OUTDATED = Rule(
    id="extension_versions_outdated",
    title="Extension version outdated",
    level=Level.WARNING,
    category="security",
    splinter="0022",
    description="An extension older than the version the server ships misses its fixes.",
    remediation="alter extension … update.",
    sql="""
select e.extname,
       format('extension %%s is at version %%s, the server ships %%s',
              e.extname, e.extversion, a.default_version)
from pg_catalog.pg_extension e
join pg_catalog.pg_available_extensions a on a.name = e.extname
where a.default_version is not null and e.extversion <> a.default_version
  and e.extname <> 'plpgsql'
order by 1
""",
)

SENSITIVE_COLUMNS_EXPOSED = Rule(
    id="sensitive_columns_exposed",
    title="Sensitive columns exposed",
    level=Level.ERROR,
    category="security",
    splinter="0023",
    description="A table without row level security that the API roles can read and that has "
    "columns named like secrets hands those secrets to anyone with the anon key.",
    remediation="Enable row level security, or move the secret columns out of the API.",
    sql=f"""
select format('%%s.%%s', n.nspname, c.relname),
       format('table %%s.%%s has no row level security and exposes %%s', n.nspname, c.relname,
              string_agg(a.attname, ', ' order by a.attnum))
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
where c.relkind in ('r', 'p') and not c.relrowsecurity and {_EXPOSED} and {_API_READABLE}
  and a.attname ~* ('(password|passwd|secret|token|api_?key|private_?key|ssn'
                    '|credit_?card|card_?number|cvv|iban)')
group by n.nspname, c.relname
order by 1
""",
)

RLS_POLICY_ALWAYS_TRUE = Rule(
    id="rls_policy_always_true",
    title="RLS policy always true",
    level=Level.WARNING,
    category="security",
    splinter="0024",
    description="A permissive write policy for anon or authenticated whose USING or WITH CHECK "
    "is always true lets those roles write any row. (Like splinter, select policies are "
    "left to tenant_policy_always_true.)",
    remediation="Restrict the policy to the rows the role owns.",
    sql=f"""
with policy as (
    select n.nspname, c.relname, p.polname, {_POLICY_CMD} as cmd, p.polroles,
           regexp_replace(lower(coalesce(pg_catalog.pg_get_expr(p.polqual, p.polrelid), '')),
                          '\\s', '', 'g') as q,
           regexp_replace(lower(coalesce(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid),
                                         '')), '\\s', '', 'g') as w,
           p.polqual is null as no_q, p.polwithcheck is null as no_w
    from pg_catalog.pg_policy p
    join pg_catalog.pg_class c on c.oid = p.polrelid
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where p.polpermissive and c.relrowsecurity and {_EXPOSED}
      and (p.polroles = array[0::oid]
           or exists (select from unnest(p.polroles) r
                      where r::regrole::text in ('anon', 'authenticated')))
)
select format('%%s.%%s.%%s', nspname, relname, polname),
       format('policy %%s on %%s.%%s lets anon or authenticated %%s any row',
              polname, nspname, relname, lower(cmd))
from policy
where (cmd in ('UPDATE', 'DELETE', 'ALL') and (q in ('true', '(true)', '1=1', '(1=1)') or no_q))
   or w in ('true', '(true)', '1=1', '(1=1)')
   or (no_w and cmd = 'INSERT')
   or (no_w and cmd in ('UPDATE', 'ALL') and q in ('true', '(true)', '1=1', '(1=1)'))
order by 1
""",
)


def _definer_executable(role: str, splinter: str) -> Rule:
    return Rule(
        id=f"{role}_security_definer_function_executable",
        title=f"SECURITY DEFINER function executable by {role}",
        level=Level.WARNING,
        category="security",
        splinter=splinter,
        description=f"A SECURITY DEFINER function runs as its owner and bypasses row level "
        f"security; {role} may call it through /rest/v1/rpc. Lowered to info when the dynamic "
        "proof called it with the victim's ids and saw it refuse (a safe near-miss).",
        remediation=f"Make it security invoker, or revoke execute from {role} (and public).",
        sql=f"""
select format('%%s.%%s(%%s)', n.nspname, p.proname,
              pg_catalog.pg_get_function_identity_arguments(p.oid)),
       format('SECURITY DEFINER function %%s.%%s is executable by {role}', n.nspname, p.proname)
from pg_catalog.pg_proc p
join pg_catalog.pg_namespace n on n.oid = p.pronamespace
where p.prosecdef and pg_catalog.has_function_privilege('{role}', p.oid, 'EXECUTE')
  -- a trigger function runs only as a trigger: calling it through /rest/v1/rpc fails
  and p.prorettype not in ('pg_catalog.trigger'::regtype, 'pg_catalog.event_trigger'::regtype)
  and n.nspname not in {_SYSTEM_SCHEMAS} and n.nspname not like 'pg\\_%%'
  and not exists (select from pg_catalog.pg_depend d
                  where d.classid = 'pg_catalog.pg_proc'::regclass
                    and d.objid = p.oid and d.deptype = 'e')
order by 1
""",
    )


ANON_SECURITY_DEFINER_FUNCTION_EXECUTABLE = _definer_executable("anon", "0028")
AUTHENTICATED_SECURITY_DEFINER_FUNCTION_EXECUTABLE = _definer_executable("authenticated", "0029")

INVALID_INDEX = Rule(
    id="invalid_index",
    title="Invalid index",
    level=Level.WARNING,
    category="performance",
    splinter="0030",
    description="An index left invalid by a failed create index concurrently is maintained on "
    "every write and used by no query.",
    remediation="Drop it and create it again.",
    sql=f"""
select format('%%s.%%s', n.nspname, ic.relname),
       format('index %%s.%%s on %%s is invalid', n.nspname, ic.relname, c.relname)
from pg_catalog.pg_index i
join pg_catalog.pg_class ic on ic.oid = i.indexrelid
join pg_catalog.pg_class c on c.oid = i.indrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where not i.indisvalid and {_EXPOSED}
order by 1
""",
)

RULES = (
    UNINDEXED_FOREIGN_KEYS,
    AUTH_USERS_EXPOSED,
    AUTH_RLS_INITPLAN,
    NO_PRIMARY_KEY,
    MULTIPLE_PERMISSIVE_POLICIES,
    POLICY_EXISTS_RLS_DISABLED,
    RLS_ENABLED_NO_POLICY,
    DUPLICATE_INDEX,
    SECURITY_DEFINER_VIEW,
    FUNCTION_SEARCH_PATH_MUTABLE,
    RLS_DISABLED_IN_PUBLIC,
    EXTENSION_IN_PUBLIC,
    RLS_REFERENCES_USER_METADATA,
    MATERIALIZED_VIEW_IN_API,
    FOREIGN_TABLE_IN_API,
    UNSUPPORTED_REG_TYPES,
    FKEY_TO_AUTH_UNIQUE,
    EXTENSION_VERSIONS_OUTDATED,
    SENSITIVE_COLUMNS_EXPOSED,
    RLS_POLICY_ALWAYS_TRUE,
    ANON_SECURITY_DEFINER_FUNCTION_EXECUTABLE,
    AUTHENTICATED_SECURITY_DEFINER_FUNCTION_EXECUTABLE,
    INVALID_INDEX,
)
