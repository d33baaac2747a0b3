-- Inserts, updates or deletes rows of one table of the exposed schema, the
-- way PostgREST's POST, PATCH and DELETE do, and returns the rows written as
-- a JSON array (PostgREST's `Prefer: return=representation`). Values are
-- read with jsonb_populate_record, so each one takes its column's type; a
-- filter is {"column", "op", "value"} with PostgREST's operators eq, neq,
-- gt, gte, lt, lte, in (a JSON array) and is (null, true or false).
--
-- SECURITY INVOKER: the write runs as the caller, with the caller's table
-- privileges, row level security and triggers, so this grants nothing the
-- caller could not do through PostgREST. Identifiers are quoted with %I,
-- operators come from a fixed list, values travel as bound parameters; the
-- search path is fixed.
create or replace function private.write_rows(
    p_kind text, p_table text, p_values jsonb, p_filters jsonb
)
returns jsonb
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_values jsonb := coalesce(p_values, '{}'::jsonb);
    v_filters jsonb := coalesce(p_filters, '[]'::jsonb);
    v_columns text;
    v_selected text;
    v_where text := '';
    v_filter jsonb;
    v_index bigint;
    v_column text;
    v_value text;
    v_condition text;
    v_statement text;
    v_result jsonb;
begin
    if to_regclass(format('public.%I', p_table)) is null then
        raise exception using
            errcode = '42P01',
            message = format('relation "public.%s" does not exist', p_table);
    end if;
    if jsonb_typeof(v_values) <> 'object' or jsonb_typeof(v_filters) <> 'array'
        or (p_kind in ('insert', 'update') and v_values = '{}'::jsonb) then
        raise exception using
            errcode = 'CB002',
            message = 'a write needs an object of values and an array of filters',
            hint = 'invalid_argument';
    end if;

    select string_agg(format('%I', k), ', ' order by k), string_agg(format('v.%I', k), ', ' order by k)
    into v_columns, v_selected
    from jsonb_object_keys(v_values) as k;

    for v_filter, v_index in
        select f.value, f.ordinality - 1 from jsonb_array_elements(v_filters) with ordinality as f
    loop
        v_column := v_filter ->> 'column';
        -- The filter's value as the column's type, read from the second parameter.
        v_value := format(
            '(jsonb_populate_record(null::public.%1$I, jsonb_build_object(%2$L, $2 -> %3$s -> ''value''))).%4$I',
            p_table, v_column, v_index, v_column
        );
        v_condition := case v_filter ->> 'op'
            when 'eq' then format('t.%I = %s', v_column, v_value)
            when 'neq' then format('t.%I <> %s', v_column, v_value)
            when 'gt' then format('t.%I > %s', v_column, v_value)
            when 'gte' then format('t.%I >= %s', v_column, v_value)
            when 'lt' then format('t.%I < %s', v_column, v_value)
            when 'lte' then format('t.%I <= %s', v_column, v_value)
            when 'in' then format(
                't.%1$I = any(array(select (jsonb_populate_record(null::public.%2$I,'
                ' jsonb_build_object(%3$L, e))).%1$I from jsonb_array_elements($2 -> %4$s -> ''value'') as e))',
                v_column, p_table, v_column, v_index
            )
            when 'is' then 't.' || quote_ident(v_column) || ' is ' || case v_filter -> 'value'
                when 'null' then 'null' when 'true' then 'true' when 'false' then 'false' end
        end;
        if v_column is null or v_condition is null then
            raise exception using
                errcode = 'CB002',
                message = format('unknown filter %s', v_filter),
                hint = 'invalid_argument';
        end if;
        v_where := v_where || case when v_where = '' then ' where ' else ' and ' end || v_condition;
    end loop;

    v_statement := case p_kind
        when 'insert' then format(
            'insert into public.%1$I as t (%2$s) select %3$s'
            ' from jsonb_populate_record(null::public.%1$I, $1) as v returning t',
            p_table, v_columns, v_selected
        )
        when 'update' then format(
            'update public.%1$I as t set (%2$s) = (select %3$s'
            ' from jsonb_populate_record(null::public.%1$I, $1) as v)%4$s returning t',
            p_table, v_columns, v_selected, v_where
        )
        when 'delete' then format('delete from public.%I as t%s returning t', p_table, v_where)
    end;
    if v_statement is null then
        raise exception using
            errcode = 'CB002',
            message = format('unknown write %L: insert, update or delete', p_kind),
            hint = 'invalid_argument';
    end if;

    execute format(
        'with written as (%s) select coalesce(jsonb_agg(to_jsonb(written.t)), ''[]'') from written',
        v_statement
    ) using v_values, v_filters into v_result;
    return v_result;
end;
$$;

comment on function private.write_rows(text, text, jsonb, jsonb) is
'Insert, update or delete rows of a public table as the caller; the rows written as a JSON array.';

revoke all on function private.write_rows(text, text, jsonb, jsonb)
from public, anon, authenticated, service_role;
grant execute on function private.write_rows(text, text, jsonb, jsonb)
to authenticated, service_role;
