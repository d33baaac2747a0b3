-- An organisation-scoped provisioning tool: organizations, members with a
-- role, projects of an organisation, per-caller rate limits, and the
-- predicate has_role_on_organization().
--
-- Planted: add_organization_member() lets any signed-in user make itself (or
-- anyone) admin of any organisation; delete_project() deletes any
-- organisation's project without a check; reset_rate_limits() wipes every
-- caller's rate limits.
-- Near-misses: rename_project() is a definer function that checks the
-- caller's role; a trigger function stamps updated_at; organization_events has
-- a `using (false)` policy.
create table public.organizations (
    id uuid primary key default gen_random_uuid(),
    name text not null,
    created_at timestamptz not null default now()
);

create table public.organization_members (
    organization_id uuid not null references public.organizations (id) on delete cascade,
    user_id uuid not null references auth.users (id) on delete cascade,
    role text not null default 'member' check (role in ('owner', 'admin', 'member')),
    primary key (organization_id, user_id)
);
create index on public.organization_members (user_id);

create table public.projects (
    id uuid primary key default gen_random_uuid(),
    organization_id uuid not null references public.organizations (id) on delete cascade,
    name text not null,
    region text not null default 'eu' check (region in ('eu', 'us')),
    updated_at timestamptz not null default now()
);
create index on public.projects (organization_id);

create table public.organization_events (
    id bigint generated always as identity primary key,
    organization_id uuid not null references public.organizations (id) on delete cascade,
    event text not null
);
create index on public.organization_events (organization_id);

create table public.rate_limits (
    user_id uuid not null references auth.users (id) on delete cascade,
    action text not null,
    hits integer not null default 0,
    window_start timestamptz not null default now(),
    primary key (user_id, action)
);

create function public.has_role_on_organization(
    organization_id uuid, min_role text default 'member'
) returns boolean
language sql stable security definer set search_path = public
as $$
    select exists (
        select from public.organization_members as m
        where m.organization_id = has_role_on_organization.organization_id
          and m.user_id = auth.uid()
          and array_position(array['member', 'admin', 'owner'], m.role)
              >= array_position(array['member', 'admin', 'owner'], min_role)
    )
$$;

create function public.touch_updated_at() returns trigger
language plpgsql security definer set search_path = public
as $$
begin
    new.updated_at := now();
    return new;
end
$$;
create trigger touch_updated_at before update on public.projects
for each row execute function public.touch_updated_at();

-- safe: only an admin of the project's organisation renames it
create function public.rename_project(project_id uuid, new_name text) returns void
language plpgsql security definer set search_path = public
as $$
begin
    if not exists (
        select from public.projects as p
        where p.id = project_id and public.has_role_on_organization(p.organization_id, 'admin')
    ) then
        raise exception 'not allowed' using errcode = '42501';
    end if;
    update public.projects set name = new_name where id = project_id;
end
$$;

-- PLANTED: no check that the caller administers the organisation
create function public.add_organization_member(
    organization_id uuid, user_id uuid, role text
) returns void
language sql security definer set search_path = public
as $$
    insert into public.organization_members (organization_id, user_id, role)
    values (add_organization_member.organization_id, add_organization_member.user_id,
            add_organization_member.role)
    on conflict on constraint organization_members_pkey do update set role = excluded.role
$$;

-- PLANTED: no check at all
create function public.delete_project(project_id uuid) returns void
language sql security definer set search_path = public
as $$
    delete from public.projects as p where p.id = delete_project.project_id
$$;

-- PLANTED: every caller's limits, not the caller's own
create function public.reset_rate_limits() returns void
language sql security definer set search_path = public
as $$
    delete from public.rate_limits where true
$$;

alter table public.organizations enable row level security;
alter table public.organization_members enable row level security;
alter table public.projects enable row level security;
alter table public.organization_events enable row level security;
alter table public.rate_limits enable row level security;

create policy organizations_read on public.organizations for select to authenticated
using ((select public.has_role_on_organization(id)));
create policy organizations_update on public.organizations for update to authenticated
using ((select public.has_role_on_organization(id, 'owner')))
with check ((select public.has_role_on_organization(id, 'owner')));

create policy members_read on public.organization_members for select to authenticated
using ((select public.has_role_on_organization(organization_id)));

create policy projects_read on public.projects for select to authenticated
using ((select public.has_role_on_organization(organization_id)));
create policy projects_write on public.projects for insert to authenticated
with check ((select public.has_role_on_organization(organization_id, 'admin')));
create policy projects_update on public.projects for update to authenticated
using ((select public.has_role_on_organization(organization_id, 'admin')))
with check ((select public.has_role_on_organization(organization_id, 'admin')));

create policy events_never on public.organization_events for all using (false);

create policy rate_limits_read_own on public.rate_limits for select to authenticated
using ((select auth.uid()) = user_id);
