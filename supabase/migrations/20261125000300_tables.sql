-- The business tables, with every rule that can be a constraint.
--
-- Money is bigint cents. The integers left (duration_minutes,
-- max_participants, occurrences) are bounded by checks to small ranges.
-- squawk-ignore-file prefer-bigint-over-int
--
-- Tenancy: every row carries `coach_id` (defaulting to the caller, so the
-- frontend never sends it), and every foreign key between business tables
-- includes it, e.g. (lesson_id, coach_id) -> lessons (id, coach_id). A row
-- can therefore never point at another coach's row, whoever writes it:
-- service_role and buggy functions included.

-- A time zone is valid when it is shaped like an IANA name (so POSIX
-- offsets such as '+03' or 'UTC+3', which do not follow daylight saving,
-- are refused) and PostgreSQL knows it. Cheaper than a lookup in
-- pg_timezone_names. Used by check constraints, so it must not fail.
create function private.is_time_zone(p_name text)
returns boolean
language plpgsql
stable
set search_path = ''
as $$
begin
    if p_name is null or p_name !~ '^[A-Za-z][A-Za-z0-9]*([/_-][A-Za-z0-9_+-]+)*$' then
        return false;
    end if;
    perform pg_catalog.now() at time zone p_name;
    return true;
exception
    when invalid_parameter_value then
        return false;
end;
$$;

revoke execute on function private.is_time_zone(text) from public, anon;
grant execute on function private.is_time_zone(text) to authenticated, service_role;

-- One row per coach, made by the sign-up trigger; its id is the auth user's.
create table public.coaches (
    id uuid primary key references auth.users (id) on delete cascade,
    full_name text,
    email text,
    business_name text,
    timezone text not null default 'UTC',
    currency text not null default 'usd',
    stripe_account_id text unique,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint coaches_timezone_valid check (private.is_time_zone(timezone)),
    constraint coaches_currency_iso check (currency ~ '^[a-z]{3}$')
);

-- A coach's clients.
create table public.clients (
    id uuid primary key default gen_random_uuid(),
    coach_id uuid not null default auth.uid() references public.coaches (id) on delete cascade,
    first_name text not null,
    last_name text,
    email text,
    phone text,
    notes text,
    is_active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    -- the target of the tenant-safe foreign keys of child tables
    constraint clients_id_coach_key unique (id, coach_id),
    constraint clients_first_name_not_blank check (btrim(first_name) <> '')
);

-- What a coach sells: duration, price and group size of a kind of lesson.
create table public.lesson_types (
    id uuid primary key default gen_random_uuid(),
    coach_id uuid not null default auth.uid() references public.coaches (id) on delete cascade,
    name text not null,
    description text,
    duration_minutes integer not null,
    price_cents bigint not null default 0,
    max_participants integer not null default 1,
    is_active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint lesson_types_id_coach_key unique (id, coach_id),
    constraint lesson_types_name_per_coach_key unique (coach_id, name),
    constraint lesson_types_name_not_blank check (btrim(name) <> ''),
    constraint lesson_types_duration_range check (duration_minutes between 1 and 1440),
    constraint lesson_types_price_not_negative check (price_cents >= 0),
    constraint lesson_types_max_participants_positive check (max_participants >= 1)
);

-- A series of lessons; its lessons point back to it.
create table public.recurring_lessons (
    id uuid primary key default gen_random_uuid(),
    coach_id uuid not null default auth.uid() references public.coaches (id) on delete cascade,
    lesson_type_id uuid,
    title text,
    frequency public.lesson_frequency not null,
    first_start_time timestamptz not null,
    duration_minutes integer not null,
    timezone text not null,
    until_date date,
    occurrences integer,
    is_active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint recurring_lessons_id_coach_key unique (id, coach_id),
    constraint recurring_lessons_lesson_type_fkey foreign key (lesson_type_id, coach_id)
    references public.lesson_types (id, coach_id),
    constraint recurring_lessons_duration_range check (duration_minutes between 1 and 1440),
    constraint recurring_lessons_timezone_valid check (private.is_time_zone(timezone)),
    constraint recurring_lessons_occurrences_range check (occurrences between 1 and 104),
    constraint recurring_lessons_has_end check (until_date is not null or occurrences is not null)
);

-- A lesson: one client (client_id set) or a group (client_id null); who
-- takes part is in lesson_participants.
create table public.lessons (
    id uuid primary key default gen_random_uuid(),
    coach_id uuid not null default auth.uid() references public.coaches (id) on delete cascade,
    client_id uuid,
    lesson_type_id uuid,
    recurring_lesson_id uuid,
    is_recurring boolean not null default false,
    title text,
    start_time timestamptz not null,
    end_time timestamptz not null,
    status public.lesson_status not null default 'scheduled',
    location text,
    notes text,
    price_cents bigint not null default 0,
    cancelled_at timestamptz,
    cancellation_reason text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint lessons_id_coach_key unique (id, coach_id),
    constraint lessons_client_fkey foreign key (client_id, coach_id)
    references public.clients (id, coach_id),
    constraint lessons_lesson_type_fkey foreign key (lesson_type_id, coach_id)
    references public.lesson_types (id, coach_id),
    -- deleting a series keeps its lessons (and their charges) as single lessons
    constraint lessons_recurring_lesson_fkey foreign key (recurring_lesson_id, coach_id)
    references public.recurring_lessons (id, coach_id) on delete set null (recurring_lesson_id),
    constraint lessons_end_after_start check (end_time > start_time),
    constraint lessons_price_not_negative check (price_cents >= 0),
    constraint lessons_cancelled_at_only_when_cancelled
    check (cancelled_at is null or status = 'cancelled'),
    -- a coach is in one place at a time; a cancelled lesson frees its slot
    constraint lessons_no_overlap exclude using gist (
        coach_id with =,
        tstzrange(start_time, end_time) with &&
    ) where (status <> 'cancelled')
);

-- Payments received from a client. Money is integer cents.
create table public.payments (
    id uuid primary key default gen_random_uuid(),
    coach_id uuid not null default auth.uid() references public.coaches (id) on delete cascade,
    client_id uuid not null,
    amount_cents bigint not null,
    currency text not null default 'usd',
    method public.payment_method not null,
    status public.payment_state not null default 'pending',
    stripe_checkout_session_id text unique,
    stripe_payment_intent_id text unique,
    credit_cents bigint not null default 0,
    note text,
    paid_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint payments_id_coach_key unique (id, coach_id),
    -- lets a charge require that the payment settling it is its own client's
    constraint payments_id_client_coach_key unique (id, client_id, coach_id),
    constraint payments_client_fkey foreign key (client_id, coach_id)
    references public.clients (id, coach_id),
    constraint payments_amount_positive check (amount_cents > 0),
    constraint payments_credit_not_negative check (credit_cents >= 0),
    constraint payments_currency_iso check (currency ~ '^[a-z]{3}$'),
    constraint payments_succeeded_has_paid_at check (status <> 'succeeded' or paid_at is not null)
);

-- One client's place (and charge) in one lesson. Lesson, client, payment and
-- participant share one coach_id; a charge is paid only by its own client's
-- payment. While a Stripe checkout is pending, payment_id names it and the
-- charge stays unpaid.
create table public.lesson_participants (
    id uuid primary key default gen_random_uuid(),
    lesson_id uuid not null,
    client_id uuid not null,
    coach_id uuid not null default auth.uid() references public.coaches (id) on delete cascade,
    -- defaults to the lesson's price (trigger participant_price_from_lesson)
    price_cents bigint not null,
    payment_status public.payment_status not null default 'unpaid',
    payment_id uuid,
    paid_at timestamptz,
    attended boolean,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint lesson_participants_lesson_client_key unique (lesson_id, client_id),
    constraint lesson_participants_lesson_fkey foreign key (lesson_id, coach_id)
    references public.lessons (id, coach_id) on delete cascade,
    constraint lesson_participants_client_fkey foreign key (client_id, coach_id)
    references public.clients (id, coach_id),
    constraint lesson_participants_payment_fkey foreign key (payment_id, client_id, coach_id)
    references public.payments (id, client_id, coach_id),
    constraint lesson_participants_price_not_negative check (price_cents >= 0),
    constraint lesson_participants_paid_has_payment
    check (payment_status <> 'paid' or (payment_id is not null and paid_at is not null))
);

-- Who did what, written only by the audit trigger. No foreign key to
-- coaches: the history outlives the rows it describes.
create table public.audit_log (
    id bigint generated always as identity primary key,
    occurred_at timestamptz not null default now(),
    coach_id uuid,
    actor_id uuid,
    actor_role text not null,
    action public.audit_action not null,
    table_name text not null,
    record_id text,
    old_data jsonb,
    new_data jsonb,
    created_at timestamptz not null default now()
);

-- Stripe webhook events, for idempotency; server code only.
create table public.stripe_events (
    id text primary key,
    type text not null,
    payload jsonb not null default '{}'::jsonb,
    received_at timestamptz not null default now(),
    processed_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

-- Indexes the original app needed.
create index lessons_end_time_idx on public.lessons (end_time);
create index lesson_participants_client_payment_status_idx
on public.lesson_participants (client_id, payment_status);
create index lessons_coach_client_status_idx on public.lessons (coach_id, client_id, status);
create index lessons_coach_is_recurring_idx on public.lessons (coach_id, is_recurring);
create index lesson_types_coach_active_name_idx
on public.lesson_types (coach_id, is_active, name);
create index clients_coach_first_name_idx on public.clients (coach_id, first_name);

-- One index per foreign key, starting with its columns (the coach_id ones
-- are served by the indexes above that start with coach_id, except these).
create index recurring_lessons_coach_idx on public.recurring_lessons (coach_id);
create index recurring_lessons_lesson_type_idx
on public.recurring_lessons (lesson_type_id, coach_id);
create index lessons_client_idx on public.lessons (client_id, coach_id);
create index lessons_lesson_type_idx on public.lessons (lesson_type_id, coach_id);
create index lessons_recurring_lesson_idx on public.lessons (recurring_lesson_id, coach_id);
create index lesson_participants_coach_idx on public.lesson_participants (coach_id);
create index lesson_participants_lesson_idx on public.lesson_participants (lesson_id, coach_id);
create index lesson_participants_client_idx
on public.lesson_participants (client_id, coach_id);
create index lesson_participants_payment_idx
on public.lesson_participants (payment_id, client_id, coach_id);
create index payments_coach_paid_at_idx on public.payments (coach_id, paid_at);
create index payments_client_idx on public.payments (client_id, coach_id);

-- What policies and views filter on: the coach's audit trail, a record's history.
create index audit_log_coach_occurred_at_idx on public.audit_log (coach_id, occurred_at);
create index audit_log_record_idx on public.audit_log (table_name, record_id);
