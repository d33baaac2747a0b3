-- A non-empty, one-dimensional list starting at index 1, of distinct,
-- non-null ids. `p_duplicate_code` tells a client listed twice (CB005) from
-- a charge listed twice (CB002). The functions read p_client_ids[1] for a
-- one-client lesson: '[2:2]={…}' or a 2-D array would give null there.
create or replace function private.require_id_list(
    p_ids uuid[], p_what text, p_duplicate_code text default 'CB002'
)
returns void
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
    if p_ids is null or pg_catalog.cardinality(p_ids) = 0
        or pg_catalog.array_ndims(p_ids) <> 1 or pg_catalog.array_lower(p_ids, 1) <> 1
        or pg_catalog.array_position(p_ids, null) is not null then
        raise exception using
            errcode = 'CB002',
            message = pg_catalog.format('%s must be a non-empty list of ids', p_what),
            hint = 'invalid_argument';
    end if;
    if (select pg_catalog.count(distinct i) from pg_catalog.unnest(p_ids) as i)
        <> pg_catalog.cardinality(p_ids) then
        raise exception using
            errcode = p_duplicate_code,
            message = pg_catalog.format('%s lists the same id twice', p_what),
            hint = case when p_duplicate_code = 'CB005' then 'duplicate_participant'
                else 'invalid_argument' end;
    end if;
end;
$$;

comment on function private.require_id_list(uuid[], text, text) is
'Refuses an id list that is empty, multi-dimensional, offset, or has nulls or duplicates.';

revoke all on function private.require_id_list(uuid[], text, text)
from public, anon, authenticated, service_role;
grant execute on function private.require_id_list(uuid[], text, text)
to authenticated, service_role;
