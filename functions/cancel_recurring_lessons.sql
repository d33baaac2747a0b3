-- Cancels the series' scheduled lessons that start at or after p_from
-- (their unpaid charges are waived by the trigger) and returns how many.
-- The series stays active while it still has scheduled lessons.
create or replace function public.cancel_recurring_lessons(
    p_recurring_lesson_id uuid, p_from timestamptz default now()
)
returns integer
language plpgsql
security invoker
set search_path = pg_catalog, pg_temp
as $$
declare
    v_coach_id uuid := private.require_coach_id();
    v_cancelled integer;
begin
    perform from public.recurring_lessons as r
    where r.id = p_recurring_lesson_id and r.coach_id = v_coach_id
    for update;
    if not found then
        raise exception using errcode = 'CB001', message = 'series not found', hint = 'not_found';
    end if;
    if p_from is null then
        raise exception using errcode = 'CB002', message = 'p_from is required', hint = 'invalid_argument';
    end if;

    update public.lessons as l set
        status = 'cancelled',
        cancelled_at = pg_catalog.now(),
        cancellation_reason = coalesce(l.cancellation_reason, 'series cancelled')
    where l.recurring_lesson_id = p_recurring_lesson_id and l.coach_id = v_coach_id
        and l.status = 'scheduled' and l.start_time >= p_from;
    get diagnostics v_cancelled = row_count;

    update public.recurring_lessons as r set is_active = exists (
        select from public.lessons as l
        where l.recurring_lesson_id = r.id and l.coach_id = v_coach_id and l.status = 'scheduled'
    )
    where r.id = p_recurring_lesson_id and r.coach_id = v_coach_id;

    return v_cancelled;
end;
$$;

comment on function public.cancel_recurring_lessons(uuid, timestamptz) is
'Cancels the series'' scheduled lessons from a time on; returns how many.';

revoke all on function public.cancel_recurring_lessons(uuid, timestamptz)
from public, anon, authenticated, service_role;
grant execute on function public.cancel_recurring_lessons(uuid, timestamptz)
to authenticated, service_role;
