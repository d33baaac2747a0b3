-- A subscription app: profiles owned by `id`, customers (server only),
-- products and prices that everybody reads, subscriptions owned by `user_id`.
--
-- Planted: create_user() lets anon create users in auth.users;
-- subscription_of() returns any user's subscription to anyone (a definer
-- function with no authorization check).
-- Near-misses: handle_new_user() is a trigger function on auth.users;
-- customers has RLS on, no policy; payment_methods has a `using (false)`
-- policy; the owner policies' condition is null for anon; Supabase's default
-- grants (TRUNCATE included) stay as a new project has them.
create type public.pricing_type as enum ('one_time', 'recurring');
create type public.pricing_plan_interval as enum ('day', 'week', 'month', 'year');
create type public.subscription_status as enum (
    'trialing', 'active', 'canceled', 'incomplete', 'incomplete_expired', 'past_due', 'unpaid'
);

create table public.users (
    id uuid primary key references auth.users (id) on delete cascade,
    full_name text,
    avatar_url text,
    billing_address jsonb,
    payment_method jsonb
);

create table public.customers (
    id uuid primary key references auth.users (id) on delete cascade,
    stripe_customer_id text unique
);

create table public.payment_methods (
    id text primary key,
    user_id uuid not null references auth.users (id) on delete cascade,
    last4 text not null
);
create index on public.payment_methods (user_id);

create table public.products (
    id text primary key,
    active boolean,
    name text,
    description text
);

create table public.prices (
    id text primary key,
    product_id text references public.products (id),
    active boolean,
    unit_amount bigint,
    currency text check (char_length(currency) = 3),
    type public.pricing_type,
    interval public.pricing_plan_interval
);
create index on public.prices (product_id);

create table public.subscriptions (
    id text primary key,
    user_id uuid not null references auth.users (id) on delete cascade,
    status public.subscription_status,
    price_id text references public.prices (id),
    quantity integer,
    cancel_at_period_end boolean,
    created timestamptz not null default now()
);
create index on public.subscriptions (user_id);
create index on public.subscriptions (price_id);

create function public.handle_new_user() returns trigger
language plpgsql security definer set search_path = public
as $$
begin
    insert into public.users (id, full_name, avatar_url)
    values (new.id, new.raw_user_meta_data ->> 'full_name', new.raw_user_meta_data ->> 'avatar_url');
    return new;
end
$$;
create trigger on_auth_user_created after insert on auth.users
for each row execute function public.handle_new_user();

-- PLANTED: anyone, anon included, creates users
create function public.create_user(email text) returns uuid
language sql security definer set search_path = public
as $$
    insert into auth.users (id, email, raw_user_meta_data)
    values (gen_random_uuid(), create_user.email, '{}')
    returning id
$$;

-- PLANTED: anyone reads anyone's subscription
create function public.subscription_of(user_id uuid) returns setof public.subscriptions
language sql stable security definer set search_path = public
as $$
    select * from public.subscriptions as s where s.user_id = subscription_of.user_id
$$;

alter table public.users enable row level security;
alter table public.customers enable row level security;
alter table public.payment_methods enable row level security;
alter table public.products enable row level security;
alter table public.prices enable row level security;
alter table public.subscriptions enable row level security;

create policy users_read_own on public.users for select
using ((select auth.uid()) = id);
create policy users_update_own on public.users for update
using ((select auth.uid()) = id) with check ((select auth.uid()) = id);

create policy payment_methods_never on public.payment_methods for select
using (false);

create policy products_read on public.products for select using (true);
create policy prices_read on public.prices for select using (true);

create policy subscriptions_read_own on public.subscriptions for select
using ((select auth.uid()) = user_id);
