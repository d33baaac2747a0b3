-- Internal helpers (trigger functions, the billing rule) live in `private`,
-- a schema PostgREST does not expose, so none of them is an API endpoint.
create schema if not exists private;
revoke all on schema private from public, anon;

-- Invoker helpers used by views and RPC functions must be reachable by the
-- roles that run those views and functions; each function is granted one by one.
grant usage on schema private to authenticated, service_role;
