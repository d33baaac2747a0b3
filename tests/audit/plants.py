"""One planted hole per rule: the SQL that opens it and the object it must be reported on.

Each plant runs on a fresh copy of the fully migrated project database, so a
plant opens exactly one hole in an otherwise clean schema.
"""

from __future__ import annotations

from dataclasses import dataclass

# A clean tenant table, as the project would write one: the base of most plants.
NOTES = """
create table public.planted_notes (
    id uuid primary key default gen_random_uuid(),
    coach_id uuid not null default auth.uid() references public.coaches (id) on delete cascade,
    body text not null,
    constraint planted_notes_id_coach_key unique (id, coach_id)
);
create index planted_notes_coach_idx on public.planted_notes (coach_id);
alter table public.planted_notes enable row level security;
create policy planted_notes_select on public.planted_notes for select to authenticated
    using (coach_id = (select auth.uid()));
create policy planted_notes_insert on public.planted_notes for insert to authenticated
    with check (coach_id = (select auth.uid()));
create policy planted_notes_update on public.planted_notes for update to authenticated
    using (coach_id = (select auth.uid())) with check (coach_id = (select auth.uid()));
create policy planted_notes_delete on public.planted_notes for delete to authenticated
    using (coach_id = (select auth.uid()));
revoke all on public.planted_notes from public, anon;
grant select, insert, update, delete on public.planted_notes to authenticated, service_role;
"""

# A security-definer function that renames any client: ignores whose it is.
RENAME_ANY_CLIENT = """
create function public.planted_rename_client(p_client_id uuid, p_first_name text)
returns void language sql security definer set search_path = '' as $$
    update public.clients set first_name = p_first_name where id = p_client_id
$$;
revoke execute on function public.planted_rename_client(uuid, text) from public, anon;
grant execute on function public.planted_rename_client(uuid, text) to authenticated;
"""

# A service-only security-definer function (the Stripe webhook's kind): it trusts its ids.
SERVICE_RENAME_CLIENT = """
create function public.planted_service_rename(p_client_id uuid, p_first_name text)
returns void language sql security definer set search_path = '' as $$
    update public.clients set first_name = p_first_name where id = p_client_id
$$;
revoke execute on function public.planted_service_rename(uuid, text)
    from public, anon, authenticated;
grant execute on function public.planted_service_rename(uuid, text) to service_role;
"""

SETTLE = "public.settle_stripe_checkout"
SETTLE_OBJECT = (
    f"{SETTLE}(p_event_id text, p_checkout_session_id text, p_payment_intent_id text,"
    " p_amount_cents bigint)"
)


@dataclass(frozen=True)
class Plant:
    sql: str
    object: str
    config: str = ""  # extra audit.toml text ([tables] entries, [[suppress]] …)
    dynamic: bool = False


PLANTS: dict[str, Plant] = {
    # -- splinter's lints -------------------------------------------------------------------
    "unindexed_foreign_keys": Plant(
        NOTES + "create table public.planted_children (id uuid primary key,"
        " note_id uuid references public.planted_notes (id), coach_id uuid not null);",
        "public.planted_children.planted_children_note_id_fkey",
    ),
    "auth_users_exposed": Plant(
        "create view public.planted_users as select id, email from auth.users;"
        " grant select on public.planted_users to anon;",
        "public.planted_users",
    ),
    "auth_rls_initplan": Plant(
        NOTES + "drop policy planted_notes_select on public.planted_notes;"
        " create policy planted_notes_select on public.planted_notes for select to authenticated"
        " using (coach_id = auth.uid());",
        "public.planted_notes.planted_notes_select",
    ),
    "no_primary_key": Plant(
        "create table public.planted_keyless (coach_id uuid not null"
        " references public.coaches (id), body text);"
        " alter table public.planted_keyless enable row level security;",
        "public.planted_keyless",
    ),
    "multiple_permissive_policies": Plant(
        NOTES + "create policy planted_notes_select_again on public.planted_notes for select"
        " to authenticated using (coach_id = (select auth.uid()));",
        "public.planted_notes",
    ),
    "policy_exists_rls_disabled": Plant(
        NOTES + "alter table public.planted_notes disable row level security;",
        "public.planted_notes",
    ),
    "rls_enabled_no_policy": Plant(
        "create table public.planted_locked (id uuid primary key, coach_id uuid not null);"
        " alter table public.planted_locked enable row level security;",
        "public.planted_locked",
    ),
    "duplicate_index": Plant(
        NOTES + "create index planted_notes_coach_again_idx on public.planted_notes (coach_id);",
        "public.planted_notes",
    ),
    "security_definer_view": Plant(
        NOTES + "create view public.planted_definer_view as select id, coach_id"
        " from public.planted_notes; grant select on public.planted_definer_view to authenticated;",
        "public.planted_definer_view",
    ),
    "function_search_path_mutable": Plant(
        "create function public.planted_mutable() returns integer language sql as 'select 1';",
        "public.planted_mutable()",
    ),
    "rls_disabled_in_public": Plant(
        # only insert granted: the blind spot of splinter's lint
        "create table public.planted_open (id uuid primary key,"
        " coach_id uuid not null references public.coaches (id));"
        " grant insert on public.planted_open to authenticated;",
        "public.planted_open",
    ),
    "extension_in_public": Plant(
        "alter extension btree_gist set schema public;",
        "btree_gist",
    ),
    "rls_references_user_metadata": Plant(
        NOTES + "create policy planted_notes_admin on public.planted_notes for delete"
        " to authenticated using (((select auth.jwt()) -> 'user_metadata' ->> 'admin') = 'yes');",
        "public.planted_notes.planted_notes_admin",
    ),
    "materialized_view_in_api": Plant(
        "create materialized view public.planted_totals as select coach_id, count(*) as n"
        " from public.clients group by coach_id;"
        " grant select on public.planted_totals to authenticated;",
        "public.planted_totals",
    ),
    "foreign_table_in_api": Plant(
        "create foreign data wrapper planted_fdw; create server planted_server"
        " foreign data wrapper planted_fdw; create foreign table public.planted_remote"
        " (id integer) server planted_server; grant select on public.planted_remote to anon;",
        "public.planted_remote",
    ),
    "unsupported_reg_types": Plant(
        "create table public.planted_reg (id integer primary key, handler regproc);",
        "public.planted_reg.handler",
    ),
    "fkey_to_auth_unique": Plant(
        "create unique index planted_users_email_key on auth.users (email);"
        " create table public.planted_by_email (id uuid primary key,"
        " email varchar(255) references auth.users (email));",
        "public.planted_by_email.planted_by_email_email_fkey",
    ),
    "extension_versions_outdated": Plant(
        "create extension citext version '1.4' schema extensions;",
        "citext",
    ),
    "sensitive_columns_exposed": Plant(
        "create table public.planted_keys (id uuid primary key, api_key text);"
        " grant select on public.planted_keys to anon;",
        "public.planted_keys",
    ),
    "rls_policy_always_true": Plant(
        "create policy planted_events_update on public.stripe_events for update"
        " to authenticated using (true);",
        "public.stripe_events.planted_events_update",
    ),
    "anon_security_definer_function_executable": Plant(
        "create function public.planted_definer() returns integer language sql"
        " security definer set search_path = '' as 'select 1';"
        " grant execute on function public.planted_definer() to anon;",
        "public.planted_definer()",
    ),
    "authenticated_security_definer_function_executable": Plant(
        RENAME_ANY_CLIENT,
        "public.planted_rename_client(p_client_id uuid, p_first_name text)",
    ),
    "invalid_index": Plant(
        NOTES + "update pg_catalog.pg_index set indisvalid = false"
        " where indexrelid = 'public.planted_notes_coach_idx'::regclass;",
        "public.planted_notes_coach_idx",
    ),
    # -- tenancy ----------------------------------------------------------------------------
    "tenant_policy_always_true": Plant(
        NOTES + "drop policy planted_notes_select on public.planted_notes;"
        " create policy planted_notes_select on public.planted_notes for select"
        " to authenticated using (true);",
        "public.planted_notes.planted_notes_select",
    ),
    "tenant_policy_to_public": Plant(
        NOTES + "drop policy planted_notes_select on public.planted_notes;"
        " create policy planted_notes_select on public.planted_notes for select"
        # anon's auth.uid() is null, so coalesce lets it see every row
        " using (coach_id = coalesce((select auth.uid()), coach_id));",
        "public.planted_notes.planted_notes_select",
    ),
    "update_policy_not_pinned": Plant(
        NOTES + "drop policy planted_notes_update on public.planted_notes;"
        " create policy planted_notes_update on public.planted_notes for update"
        " to authenticated using (coach_id = (select auth.uid())) with check (body <> '');",
        "public.planted_notes.planted_notes_update",
    ),
    "grant_without_policy": Plant(
        NOTES + "drop policy planted_notes_delete on public.planted_notes;",
        "public.planted_notes",
    ),
    "policy_without_grant": Plant(
        NOTES + "revoke delete on public.planted_notes from authenticated;",
        "public.planted_notes.planted_notes_delete",
    ),
    "cross_tenant_foreign_key": Plant(
        NOTES + "create table public.planted_links (id uuid primary key,"
        " coach_id uuid not null references public.coaches (id),"
        " note_id uuid not null references public.planted_notes (id));",
        "public.planted_links.planted_links_note_id_fkey",
    ),
    "anon_privilege_on_tenant_table": Plant(
        NOTES + "grant select on public.planted_notes to anon;",
        "public.planted_notes",
    ),
    "api_default_grants": Plant(
        NOTES + "grant truncate on public.planted_notes to authenticated;",
        "public",
    ),
    "service_only_table_exposed": Plant(
        "grant select on public.stripe_events to authenticated;",
        "public.stripe_events",
    ),
    "view_without_security_invoker": Plant(
        NOTES + "create view public.planted_note_ids as select id from public.planted_notes;",
        "public.planted_note_ids",
    ),
    "append_only_table_mutable": Plant(
        "alter table public.audit_log disable trigger refuse_audit_log_truncate;"
        " grant truncate on public.audit_log to service_role;",
        "public.audit_log",
    ),
    "id_without_foreign_key": Plant(
        NOTES + "alter table public.planted_notes add column client_id uuid;",
        "public.planted_notes.client_id",
    ),
    "table_not_classified": Plant(
        "create table public.planted_settings (id uuid primary key, value text);"
        " alter table public.planted_settings enable row level security;",
        "public.planted_settings",
    ),
    "classification_invalid": Plant(
        "",
        "public.planted_ghost",
        config='[tables]\nplanted_ghost = "service-only"\n',
    ),
    # -- the dynamic proof ------------------------------------------------------------------
    "isolation_leak": Plant(
        # looks tenant-bound, is not: the second disjunct is true for every row
        NOTES + "drop policy planted_notes_select on public.planted_notes;"
        " create policy planted_notes_select on public.planted_notes for select"
        " to authenticated using (coach_id = (select auth.uid()) or coach_id is not null);",
        "public.planted_notes",
        dynamic=True,
    ),
    "isolation_unproven": Plant(
        # the owner can not delete its own notes although granted: a denial proves nothing
        NOTES + "drop policy planted_notes_delete on public.planted_notes;"
        " create policy planted_notes_delete on public.planted_notes for delete"
        " to authenticated using (coach_id = (select auth.uid()) and body = 'never');",
        "public.planted_notes",
        dynamic=True,
    ),
    "isolation_fixture_failed": Plant(
        NOTES + "alter table public.planted_notes add column code text not null"
        " constraint planted_notes_code check (code ~ '^[A-Z]{3}$');",
        "public.planted_notes",
        dynamic=True,
    ),
    "rpc_cross_tenant": Plant(
        RENAME_ANY_CLIENT,
        "public.planted_rename_client(p_client_id uuid, p_first_name text)",
        dynamic=True,
    ),
    "rpc_privilege_escalation": Plant(
        "create function public.planted_create_user(p_email text) returns uuid"
        " language sql security definer set search_path = public"
        " as $$ insert into auth.users (id, email) values (gen_random_uuid(), p_email)"
        " returning id $$;"
        " grant execute on function public.planted_create_user(text) to authenticated;",
        "public.planted_create_user(p_email text)",
        dynamic=True,
    ),
    "function_executable_by_anon": Plant(
        f"grant execute on function {SETTLE}(text, text, text, bigint) to anon;",
        SETTLE_OBJECT,
        dynamic=True,
    ),
    # -- configuration ----------------------------------------------------------------------
    "suppression_without_reason": Plant(
        "",
        "audit.toml [[suppress]] #1 (no_primary_key on public.anything)",
        config='[[suppress]]\nrule = "no_primary_key"\nobject = "public.anything"\n',
    ),
    "suppression_expired": Plant(
        "create table public.planted_keyless (coach_id uuid not null);"
        " alter table public.planted_keyless enable row level security;",
        "audit.toml [[suppress]] #1 (no_primary_key on public.planted_keyless)",
        config='[[suppress]]\nrule = "no_primary_key"\nobject = "public.planted_keyless"\n'
        'reason = "temporary"\nexpires = 2020-01-01\n',
    ),
    "suppression_unused": Plant(
        "",
        "audit.toml [[suppress]] #1 (no_primary_key on public.gone)",
        config='[[suppress]]\nrule = "no_primary_key"\nobject = "public.gone"\nreason = "legacy"\n',
    ),
}
