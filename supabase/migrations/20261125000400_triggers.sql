-- Triggers that keep the tables honest: timestamps, tenancy that never
-- moves, sign-up, lesson capacity and the audit trail.

-- updated_at is the database's clock, not the client's.
create function private.set_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    new.updated_at := pg_catalog.now();
    return new;
end;
$$;

revoke execute on function private.set_updated_at() from public, anon, authenticated, service_role;

create trigger set_updated_at before update on public.coaches
for each row execute function private.set_updated_at();
create trigger set_updated_at before update on public.clients
for each row execute function private.set_updated_at();
create trigger set_updated_at before update on public.lesson_types
for each row execute function private.set_updated_at();
create trigger set_updated_at before update on public.recurring_lessons
for each row execute function private.set_updated_at();
create trigger set_updated_at before update on public.lessons
for each row execute function private.set_updated_at();
create trigger set_updated_at before update on public.lesson_participants
for each row execute function private.set_updated_at();
create trigger set_updated_at before update on public.payments
for each row execute function private.set_updated_at();
create trigger set_updated_at before update on public.stripe_events
for each row execute function private.set_updated_at();

-- A row never moves to another coach, whoever updates it (policies stop
-- coaches; this stops service_role and functions too). The argument names
-- the tenant column: `id` for coaches, `coach_id` elsewhere.
create function private.forbid_tenant_change()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if pg_catalog.to_jsonb(new) -> tg_argv[0] is distinct from pg_catalog.to_jsonb(old) -> tg_argv[0] then
        raise exception using
            errcode = '42501',
            message = pg_catalog.format('%s.%s can not change', tg_table_name, tg_argv[0]),
            hint = 'tenant_immutable';
    end if;
    return new;
end;
$$;

revoke execute on function private.forbid_tenant_change()
from public, anon, authenticated, service_role;

create trigger forbid_tenant_change before update of id on public.coaches
for each row execute function private.forbid_tenant_change('id');
create trigger forbid_tenant_change before update of coach_id on public.clients
for each row execute function private.forbid_tenant_change('coach_id');
create trigger forbid_tenant_change before update of coach_id on public.lesson_types
for each row execute function private.forbid_tenant_change('coach_id');
create trigger forbid_tenant_change before update of coach_id on public.recurring_lessons
for each row execute function private.forbid_tenant_change('coach_id');
create trigger forbid_tenant_change before update of coach_id on public.lessons
for each row execute function private.forbid_tenant_change('coach_id');
create trigger forbid_tenant_change before update of coach_id on public.lesson_participants
for each row execute function private.forbid_tenant_change('coach_id');
create trigger forbid_tenant_change before update of coach_id on public.payments
for each row execute function private.forbid_tenant_change('coach_id');

-- A participant added without a price owes the lesson's price, however it
-- is added. Runs as the caller: a lesson it can not see gives price 0, and
-- the tenant-safe foreign key then refuses the row anyway.
create function private.participant_price_from_lesson()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if new.price_cents is null then
        new.price_cents := coalesce(
            (
                select l.price_cents from public.lessons as l
                where l.id = new.lesson_id and l.coach_id = new.coach_id
            ),
            0
        );
    end if;
    return new;
end;
$$;

revoke execute on function private.participant_price_from_lesson()
from public, anon, authenticated, service_role;

create trigger participant_price_from_lesson before insert on public.lesson_participants
for each row execute function private.participant_price_from_lesson();

-- Sign-up: a new auth user gets its coaches row; a changed e-mail follows.
-- SECURITY DEFINER because Supabase Auth (supabase_auth_admin) inserts into
-- auth.users and holds no privilege on public.coaches. Safe: it takes no
-- argument, writes only the row of the user being inserted, fixes its
-- search_path and lives in `private` with EXECUTE revoked from every API
-- role, so it can not be called through the API.
create function private.handle_new_user()
returns trigger
language plpgsql
security definer
set search_path = ''
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

revoke execute on function private.handle_new_user() from public, anon, authenticated, service_role;

create trigger on_auth_user_created after insert on auth.users
for each row execute function private.handle_new_user();
create trigger on_auth_user_email_changed after update of email on auth.users
for each row when (old.email is distinct from new.email)
execute function private.handle_new_user();

-- Capacity: a lesson never has more participants than its type's
-- max_participants, however they arrive (RPC or direct insert). Locking the
-- lesson row serialises concurrent writers of one lesson, and the count that
-- follows runs on a fresh snapshot, so two concurrent inserts can not both
-- take the last place. A lesson without a type has no limit.
create function private.enforce_lesson_capacity()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
    v_lesson_id uuid := new.id;
    v_max integer;
    v_count integer;
begin
    if tg_table_name = 'lesson_participants' then
        v_lesson_id := new.lesson_id;
    end if;

    select lt.max_participants into v_max
    from public.lessons as l
    left join public.lesson_types as lt on lt.id = l.lesson_type_id and lt.coach_id = l.coach_id
    where l.id = v_lesson_id
    for no key update of l;

    if v_max is null then
        return null;
    end if;

    select pg_catalog.count(*) into v_count
    from public.lesson_participants as p
    where p.lesson_id = v_lesson_id;

    if v_count > v_max then
        raise exception using
            errcode = 'CB004',
            message = pg_catalog.format('this lesson takes at most %s participants', v_max),
            hint = 'capacity_exceeded';
    end if;
    return null;
end;
$$;

revoke execute on function private.enforce_lesson_capacity()
from public, anon, authenticated, service_role;

create constraint trigger enforce_lesson_capacity
after insert or update of lesson_id on public.lesson_participants
for each row execute function private.enforce_lesson_capacity();
create constraint trigger enforce_lesson_capacity
after update of lesson_type_id on public.lessons
for each row when (old.lesson_type_id is distinct from new.lesson_type_id)
execute function private.enforce_lesson_capacity();

-- The audit trail: who (auth.uid() and the role), what (action, table, row
-- id) and the row before and after. SECURITY DEFINER because audit_log
-- accepts inserts from its owner only: no API role can forge or alter an
-- entry. Safe: a trigger function can not be called directly, EXECUTE is
-- revoked anyway, search_path is empty, and it reads nothing but the row and
-- the request settings. Nothing in it can fail on user data: the row goes in
-- as jsonb, the ids are read from typed columns, and the claims are parsed
-- defensively.
create function private.write_audit_log()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_row jsonb;
    v_claims text := pg_catalog.current_setting('request.jwt.claims', true);
    v_sub text := pg_catalog.current_setting('request.jwt.claim.sub', true);
    v_role text := pg_catalog.current_setting('role');
begin
    if tg_op = 'DELETE' then
        v_row := pg_catalog.to_jsonb(old);
    else
        v_row := pg_catalog.to_jsonb(new);
    end if;

    if coalesce(v_sub, '') = '' and coalesce(v_claims, '') <> '' then
        begin
            v_sub := v_claims::jsonb ->> 'sub';
        exception
            when others then
                v_sub := null;
        end;
    end if;
    if v_sub !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
        v_sub := null;
    end if;

    insert into public.audit_log (
        coach_id, actor_id, actor_role, action, table_name, record_id, old_data, new_data
    )
    values (
        (v_row ->> tg_argv[0])::uuid,
        v_sub::uuid,
        case when v_role = 'none' then session_user else v_role end,
        tg_op::public.audit_action,
        tg_table_name,
        v_row ->> 'id',
        case when tg_op <> 'INSERT' then pg_catalog.to_jsonb(old) end,
        case when tg_op <> 'DELETE' then pg_catalog.to_jsonb(new) end
    );
    return null;
end;
$$;

revoke execute on function private.write_audit_log() from public, anon, authenticated, service_role;

create trigger write_audit_log after insert or update or delete on public.coaches
for each row execute function private.write_audit_log('id');
create trigger write_audit_log after insert or update or delete on public.clients
for each row execute function private.write_audit_log('coach_id');
create trigger write_audit_log after insert or update or delete on public.lesson_types
for each row execute function private.write_audit_log('coach_id');
create trigger write_audit_log after insert or update or delete on public.recurring_lessons
for each row execute function private.write_audit_log('coach_id');
create trigger write_audit_log after insert or update or delete on public.lessons
for each row execute function private.write_audit_log('coach_id');
create trigger write_audit_log after insert or update or delete on public.lesson_participants
for each row execute function private.write_audit_log('coach_id');
create trigger write_audit_log after insert or update or delete on public.payments
for each row execute function private.write_audit_log('coach_id');

-- audit_log is append-only for everyone, its owner and superusers included:
-- grants already refuse the API roles, these triggers refuse the rest.
create function private.refuse_audit_log_change()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    raise exception using
        errcode = '42501',
        message = pg_catalog.format('audit_log is append-only: %s refused', tg_op),
        hint = 'audit_log_append_only';
end;
$$;

revoke execute on function private.refuse_audit_log_change()
from public, anon, authenticated, service_role;

create trigger refuse_audit_log_change before update or delete on public.audit_log
for each row execute function private.refuse_audit_log_change();
create trigger refuse_audit_log_truncate before truncate on public.audit_log
for each statement execute function private.refuse_audit_log_change();
