-- Past and current lessons, one row per participant of a lesson that has
-- started, with what the client was charged and whether it is paid.
-- participant_id (beyond the contract's columns) is what record_payment takes.
--
-- security_invoker: the caller's row level security applies.
create or replace view public.lesson_history with (security_invoker = true) as
select
    l.id as lesson_id,
    l.coach_id,
    p.client_id,
    concat_ws(' ', c.first_name, c.last_name) as client_name,
    lt.name as lesson_type_name,
    l.title,
    l.start_time,
    l.end_time,
    l.status,
    p.price_cents,
    p.payment_status,
    p.id as participant_id
from public.lesson_participants as p
inner join public.lessons as l on p.lesson_id = l.id and p.coach_id = l.coach_id
inner join public.clients as c on p.client_id = c.id and p.coach_id = c.coach_id
left join public.lesson_types as lt on l.lesson_type_id = lt.id and l.coach_id = lt.coach_id
where l.start_time <= now();

-- Read-only for coaches and server code (explicitly, whatever the default
-- privileges); nothing for anon.
revoke all on public.lesson_history from public, anon, authenticated, service_role;
grant select on public.lesson_history to authenticated, service_role;
