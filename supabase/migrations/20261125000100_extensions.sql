-- Extensions the schema needs, installed in `extensions` as on Supabase.
create extension if not exists btree_gist with schema extensions;
