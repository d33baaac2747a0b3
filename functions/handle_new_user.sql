-- Sign-up: a new auth user gets its coaches row; a changed e-mail follows.
-- SECURITY DEFINER because Supabase Auth (supabase_auth_admin) inserts into
-- auth.users and holds no privilege on public.coaches. Safe: it takes no
-- argument, writes only the row of the user being inserted, fixes its
-- search path (pg_catalog, then pg_temp), names no unqualified type, and
-- lives in `private` with EXECUTE revoked from every API role, so it can not
-- be called through the API (and a trigger function can not be called at all).
create or replace function private.handle_new_user()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    if tg_op = 'INSERT' then
        insert into public.coaches (id, email, full_name)
        values (new.id, new.email, new.raw_user_meta_data ->> 'full_name');
    else
        update public.coaches set email = new.email where id = new.id;
    end if;
    return new;
end;
$$;

comment on function private.handle_new_user() is
'Trigger on auth.users: a new user gets its coaches row; a changed e-mail follows.';

revoke all on function private.handle_new_user()
from public, anon, authenticated, service_role;
