-- What a new Supabase project grants in `public` before its owner writes a
-- line: every privilege on every table, sequence and function to the three API
-- roles (TRUNCATE, REFERENCES and TRIGGER included), and EXECUTE to PUBLIC on
-- functions (PostgreSQL's own default). Applied after supabase/bootstrap.sql
-- and before a fixture schema, so the fixtures meet the grants real projects have.
alter default privileges in schema public
grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public
grant all on sequences to anon, authenticated, service_role;
alter default privileges in schema public
grant all on functions to anon, authenticated, service_role;
