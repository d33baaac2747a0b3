-- Supabase bootstrap for vanilla PostgreSQL.
--
-- Creates what a Supabase project already has: the API roles, the `auth`
-- schema with `auth.users` and the helpers that read PostgREST's request
-- settings, and the `extensions` schema. Every object is created only where it
-- is missing, so on a real Supabase database this file changes nothing.

-- The API roles. PostgREST logs in as `authenticator` and switches to one of
-- the three others per request; `service_role` bypasses row level security.
-- Roles belong to the whole cluster, so a bootstrap of another database may
-- create one at the same moment: that one then stands, and this one goes on.
do $bootstrap$
begin
    if not exists (select from pg_catalog.pg_roles where rolname = 'anon') then
        begin
            create role anon nologin noinherit;
            alter role anon set statement_timeout = '3s';
        exception when duplicate_object or unique_violation then null;
        end;
    end if;
    if not exists (select from pg_catalog.pg_roles where rolname = 'authenticated') then
        begin
            create role authenticated nologin noinherit;
            alter role authenticated set statement_timeout = '8s';
        exception when duplicate_object or unique_violation then null;
        end;
    end if;
    if not exists (select from pg_catalog.pg_roles where rolname = 'service_role') then
        begin
            create role service_role nologin noinherit bypassrls;
        exception when duplicate_object or unique_violation then null;
        end;
    end if;
    if not exists (select from pg_catalog.pg_roles where rolname = 'authenticator') then
        begin
            create role authenticator login noinherit;
            grant anon, authenticated, service_role to authenticator;
        exception when duplicate_object or unique_violation then null;
        end;
    end if;
end
$bootstrap$;

-- Extensions live in their own schema, as on Supabase, never in `public`.
create schema if not exists extensions;
grant usage on schema extensions to anon, authenticated, service_role;

-- The schema of Supabase Auth, reduced to what the database side relies on.
create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;

create table if not exists auth.users (
    instance_id uuid,
    id uuid primary key,
    aud varchar(255),
    role varchar(255),
    email varchar(255),
    phone text,
    raw_app_meta_data jsonb,
    raw_user_meta_data jsonb,
    is_anonymous boolean not null default false,
    created_at timestamptz default now(),
    updated_at timestamptz default now()
);

-- Only trusted server code manages users; coaches reach their profile
-- through `public.coaches`.
grant select, insert, update, delete on auth.users to service_role;

-- The helpers read the claims PostgREST sets per request, exactly as on
-- Supabase: the legacy per-claim setting first, then the JSON payload.
-- `nullif(…, '')` because a transaction-local setting reads back as ''
-- once its transaction has ended.
do $bootstrap$
begin
    if to_regprocedure('auth.uid()') is null then
        create function auth.uid() returns uuid
        language sql stable
        as $fn$
            select coalesce(
                nullif(current_setting('request.jwt.claim.sub', true), ''),
                (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
            )::uuid
        $fn$;
    end if;
    if to_regprocedure('auth.role()') is null then
        create function auth.role() returns text
        language sql stable
        as $fn$
            select coalesce(
                nullif(current_setting('request.jwt.claim.role', true), ''),
                (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
            )::text
        $fn$;
    end if;
    if to_regprocedure('auth.email()') is null then
        create function auth.email() returns text
        language sql stable
        as $fn$
            select coalesce(
                nullif(current_setting('request.jwt.claim.email', true), ''),
                (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
            )::text
        $fn$;
    end if;
    if to_regprocedure('auth.jwt()') is null then
        create function auth.jwt() returns jsonb
        language sql stable
        as $fn$
            select coalesce(
                nullif(current_setting('request.jwt.claim', true), ''),
                nullif(current_setting('request.jwt.claims', true), '')
            )::jsonb
        $fn$;
    end if;
end
$bootstrap$;

grant execute on function auth.uid(), auth.role(), auth.email(), auth.jwt()
to anon, authenticated, service_role;

-- The exposed schema: the API roles may look into it; what they may do with
-- each object is granted object by object in the migrations.
grant usage on schema public to anon, authenticated, service_role;
