-- Team accounts with memberships: accounts, account_user(account_id, user_id,
-- account_role), invitations, and the predicate has_role_on_account().
--
-- Planted: set_account_role() lets any signed-in user make itself (or anyone)
-- owner of any account (a definer function with no authorization check).
-- Near-misses: accept_invitation() is a definer function that checks the
-- token; add_owner_to_new_account() is a trigger function; invitations are
-- read and written only by the account's owners.
create type public.account_role as enum ('owner', 'member');

create table public.accounts (
    id uuid primary key default gen_random_uuid(),
    name text not null,
    slug text unique,
    personal_account boolean not null default false,
    primary_owner_user_id uuid not null default auth.uid() references auth.users (id),
    created_at timestamptz not null default now()
);

create table public.account_user (
    account_id uuid not null references public.accounts (id) on delete cascade,
    user_id uuid not null references auth.users (id) on delete cascade,
    account_role public.account_role not null,
    primary key (account_id, user_id)
);
create index on public.account_user (user_id);

create table public.invitations (
    id bigint generated always as identity primary key,
    account_id uuid not null references public.accounts (id) on delete cascade,
    token text not null unique default gen_random_uuid()::text,
    account_role public.account_role not null,
    invited_by_user_id uuid not null references auth.users (id),
    created_at timestamptz not null default now()
);
create index on public.invitations (account_id);
create index on public.invitations (invited_by_user_id);
create index on public.accounts (primary_owner_user_id);

create function public.has_role_on_account(
    account_id uuid, account_role public.account_role default null
) returns boolean
language sql stable security definer set search_path = public
as $$
    select exists (
        select from public.account_user as wu
        where wu.user_id = auth.uid()
          and wu.account_id = has_role_on_account.account_id
          and (wu.account_role = has_role_on_account.account_role
               or has_role_on_account.account_role is null)
    )
$$;

-- the creator of an account becomes its owner
create function public.add_owner_to_new_account() returns trigger
language plpgsql security definer set search_path = public
as $$
begin
    insert into public.account_user (account_id, user_id, account_role)
    values (new.id, auth.uid(), 'owner');
    return new;
end
$$;
create trigger add_owner_to_new_account after insert on public.accounts
for each row when (new.primary_owner_user_id is not null)
execute function public.add_owner_to_new_account();

-- safe: the token is the authorization, and only a signed-in caller joins
create function public.accept_invitation(lookup_token text) returns uuid
language plpgsql security definer set search_path = public
as $$
declare
    found public.invitations;
begin
    if auth.uid() is null then
        raise exception 'sign in first' using errcode = '42501';
    end if;
    select * into found from public.invitations where token = lookup_token;
    if found.id is null then
        raise exception 'invitation not found' using errcode = 'P0002';
    end if;
    insert into public.account_user (account_id, user_id, account_role)
    values (found.account_id, auth.uid(), found.account_role);
    delete from public.invitations where id = found.id;
    return found.account_id;
end
$$;

-- PLANTED: no check that the caller owns the account
create function public.set_account_role(
    account_id uuid, user_id uuid, new_account_role public.account_role
) returns void
language plpgsql security definer set search_path = public
as $$
begin
    insert into public.account_user (account_id, user_id, account_role)
    values (set_account_role.account_id, set_account_role.user_id, new_account_role)
    on conflict on constraint account_user_pkey
    do update set account_role = excluded.account_role;
end
$$;

alter table public.accounts enable row level security;
alter table public.account_user enable row level security;
alter table public.invitations enable row level security;

create policy accounts_read on public.accounts for select to authenticated
using ((select public.has_role_on_account(id)));
create policy accounts_create on public.accounts for insert to authenticated
with check (primary_owner_user_id = (select auth.uid()));
create policy accounts_update on public.accounts for update to authenticated
using ((select public.has_role_on_account(id, 'owner')))
with check ((select public.has_role_on_account(id, 'owner')));

create policy members_read on public.account_user for select to authenticated
using ((select public.has_role_on_account(account_id)));
create policy members_remove on public.account_user for delete to authenticated
using ((select public.has_role_on_account(account_id, 'owner')));

create policy invitations_read on public.invitations for select to authenticated
using ((select public.has_role_on_account(account_id, 'owner')));
create policy invitations_create on public.invitations for insert to authenticated
with check (
    (select public.has_role_on_account(account_id, 'owner'))
    and invited_by_user_id = (select auth.uid())
);
create policy invitations_delete on public.invitations for delete to authenticated
using ((select public.has_role_on_account(account_id, 'owner')));
