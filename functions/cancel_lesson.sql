-- Cancels a scheduled lesson: unpaid charges are waived (by the trigger
-- waive_charges_of_cancelled_lesson), paid ones stay paid (a refund is a
-- separate, deliberate act).
create or replace function public.cancel_lesson(p_lesson_id uuid, p_reason text default null)
returns public.lessons
language plpgsql
security invoker
set search_path = pg_catalog, pg_temp
as $$
declare
    v_coach_id uuid := private.require_coach_id();
    v_lesson public.lessons := private.lock_scheduled_lesson(v_coach_id, p_lesson_id);
begin
    update public.lessons as l set
        status = 'cancelled',
        cancelled_at = pg_catalog.now(),
        cancellation_reason = p_reason
    where l.id = v_lesson.id and l.coach_id = v_coach_id
    returning * into v_lesson;
    return v_lesson;
end;
$$;

comment on function public.cancel_lesson(uuid, text) is
'Cancels a scheduled lesson; its unpaid charges are waived, paid ones stay paid.';

revoke all on function public.cancel_lesson(uuid, text)
from public, anon, authenticated, service_role;
grant execute on function public.cancel_lesson(uuid, text)
to authenticated, service_role;
