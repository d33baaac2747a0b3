-- Calls one function of the exposed schema with named arguments given as a
-- JSON object, the way PostgREST's POST /rpc/<name> does (json_to_record
-- with the function's own argument types), and returns its result as a
-- JSON array: one object per row, or the bare value of a scalar function.
--
-- SECURITY INVOKER: the function is called as the caller, with the caller's
-- EXECUTE privilege and row level security, so this grants nothing the
-- caller could not do through PostgREST. Identifiers are quoted with %I,
-- values travel as a bound parameter; the search path is fixed.
create or replace function private.call_function(p_function text, p_params jsonb)
returns jsonb
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_params jsonb := coalesce(p_params, '{}'::jsonb);
    v_oid oid;
    v_columns text;
    v_arguments text;
    v_unknown text;
    v_result jsonb;
begin
    if p_function = 'idempotent_write' then
        raise exception using
            errcode = 'CB002',
            message = 'idempotent_write can not call itself',
            hint = 'invalid_argument';
    end if;

    select p.oid into v_oid
    from pg_catalog.pg_proc as p
    where p.pronamespace = 'public'::regnamespace and p.proname = p_function and p.prokind = 'f';
    if v_oid is null or jsonb_typeof(v_params) <> 'object' then
        raise exception using
            errcode = '42883',
            message = format('Could not find the function public.%s in the database', p_function);
    end if;

    -- The input arguments that were given, with their declared types.
    select
        string_agg(format('%I %s', a.name, format_type(a.type, null)), ', ' order by a.ord),
        string_agg(format('%1$I => a.%1$I', a.name), ', ' order by a.ord)
    into v_columns, v_arguments
    from pg_catalog.pg_proc as p
    cross join lateral unnest(
        p.proargnames,
        coalesce(p.proallargtypes, p.proargtypes::oid []),
        coalesce(p.proargmodes::text [], array_fill('i'::text, array[p.pronargs]))
    ) with ordinality as a (name, type, mode, ord)
    where p.oid = v_oid and a.mode in ('i', 'b', 'v') and v_params ? a.name;

    select string_agg(k, ', ') into v_unknown
    from jsonb_object_keys(v_params) as k
    where not exists (
        select from pg_catalog.pg_proc as p
        cross join lateral unnest(
            p.proargnames,
            coalesce(p.proargmodes::text [], array_fill('i'::text, array[p.pronargs]))
        ) as a (name, mode)
        where p.oid = v_oid and a.name = k and a.mode in ('i', 'b', 'v')
    );
    if v_unknown is not null then
        raise exception using
            errcode = '42883',
            message = format(
                'Could not find the function public.%s(%s) in the database', p_function, v_unknown
            );
    end if;

    if v_columns is null then
        execute format(
            'select coalesce(jsonb_agg(to_jsonb(r)), ''[]'') from public.%I() as r', p_function
        ) into v_result;
    else
        execute format(
            'select coalesce(jsonb_agg(to_jsonb(r)), ''[]'')'
            ' from jsonb_to_record($1) as a (%s) cross join lateral public.%I(%s) as r',
            v_columns, p_function, v_arguments
        ) using v_params into v_result;
    end if;
    return v_result;
end;
$$;

comment on function private.call_function(text, jsonb) is
'Call a public function with named JSON arguments as the caller; its rows as a JSON array.';

revoke all on function private.call_function(text, jsonb)
from public, anon, authenticated, service_role;
grant execute on function private.call_function(text, jsonb) to authenticated, service_role;
