-- Validates the time bounds added NOT VALID by
-- 20261127600500_bounded_times.sql (a scan under SHARE UPDATE EXCLUSIVE,
-- which lets reads and writes go on).
--
-- Rows stored before the bounds and outside them are not changed here: a
-- lesson's time is the coach's data, and no rule can say what it should
-- have been. Such a database stops at this migration with the number of
-- rows per column and the query that lists them; the operator corrects or
-- deletes them (docs/rules.md, "Times") and runs the migration again.
-- Until then the bounds already refuse every new or changed row.
do $$
declare
    v_range tstzrange := private.user_time_range();
    v_found text;
begin
    select pg_catalog.string_agg(pg_catalog.format('%s: %s', c.what, c.rows), ', ')
    into v_found
    from (
        select 'lessons.start_time' as what, pg_catalog.count(*) as rows
        from public.lessons where not v_range @> start_time
        union all
        select 'lessons.end_time', pg_catalog.count(*)
        from public.lessons where not v_range @> end_time
        union all
        select 'lessons.cancelled_at', pg_catalog.count(*)
        from public.lessons where not v_range @> cancelled_at
        union all
        select 'recurring_lessons.first_start_time', pg_catalog.count(*)
        from public.recurring_lessons where not v_range @> first_start_time
        union all
        select 'recurring_lessons.until_date', pg_catalog.count(*)
        from public.recurring_lessons
        where not v_range @> (until_date::timestamp at time zone 'UTC')
    ) as c
    where c.rows > 0;
    if v_found is not null then
        raise exception using
            errcode = '23514',
            message = pg_catalog.format(
                'rows with times outside [1900-01-01, 2200-01-01) UTC: %s', v_found
            ),
            hint = 'correct or delete them, then migrate again; docs/rules.md lists the query';
    end if;
end;
$$;

alter table public.lessons validate constraint lessons_start_time_in_range;
alter table public.lessons validate constraint lessons_end_time_in_range;
alter table public.lessons validate constraint lessons_cancelled_at_in_range;
alter table public.recurring_lessons
validate constraint recurring_lessons_first_start_time_in_range;
alter table public.recurring_lessons validate constraint recurring_lessons_until_date_in_range;
