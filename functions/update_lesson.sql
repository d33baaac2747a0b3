-- Changes a scheduled lesson. A null parameter leaves its field as it is;
-- a new start without a new end keeps the lesson's duration. A client list
-- replaces the participants: new clients get a charge at the lesson's
-- price, removed ones lose theirs, unless it is paid (CB009). A new time
-- that overlaps another lesson is 23P01, naming that lesson; a start or an
-- end outside 1900-01-01 to 2200-01-01 UTC is CB002, naming it.
create or replace function public.update_lesson(
    p_lesson_id uuid,
    p_start_time timestamptz default null,
    p_end_time timestamptz default null,
    p_title text default null,
    p_location text default null,
    p_notes text default null,
    p_client_ids uuid[] default null
)
returns public.lessons
language plpgsql
security invoker
set search_path = pg_catalog, pg_temp
as $$
declare
    v_coach_id uuid := private.require_coach_id();
    v_lesson public.lessons := private.lock_scheduled_lesson(v_coach_id, p_lesson_id);
    v_start timestamptz := coalesce(p_start_time, v_lesson.start_time);
    v_end timestamptz;
    v_type public.lesson_types;
begin
    perform private.require_user_time(v_start, 'p_start_time');
    v_end := coalesce(p_end_time, v_start + (v_lesson.end_time - v_lesson.start_time));
    if v_end <= v_start then
        raise exception using
            errcode = 'CB002',
            message = 'the end must be after the start',
            column = 'p_end_time',
            hint = 'invalid_argument';
    end if;
    perform private.require_user_time(v_end, 'p_end_time');

    if p_client_ids is not null then
        perform private.require_own_clients(v_coach_id, p_client_ids);
        select * into v_type from public.lesson_types as lt
        where lt.id = v_lesson.lesson_type_id and lt.coach_id = v_coach_id;
        perform private.require_capacity(v_type, pg_catalog.cardinality(p_client_ids));
        if exists (
            select from public.lesson_participants as p
            where p.lesson_id = v_lesson.id and p.coach_id = v_coach_id
                and p.client_id <> all(p_client_ids) and p.payment_status = 'paid'
        ) then
            raise exception using
                errcode = 'CB009',
                message = 'a participant who has paid can not be removed from the lesson',
                hint = 'paid_participant_removal';
        end if;

        delete from public.lesson_participants as p
        where p.lesson_id = v_lesson.id and p.coach_id = v_coach_id
            and p.client_id <> all(p_client_ids);

        insert into public.lesson_participants (lesson_id, client_id, coach_id, price_cents)
        select v_lesson.id, c.client_id, v_coach_id, v_lesson.price_cents
        from pg_catalog.unnest(p_client_ids) as c (client_id)
        where not exists (
            select from public.lesson_participants as p
            where p.lesson_id = v_lesson.id and p.client_id = c.client_id
        );
    end if;

    begin
        update public.lessons as l set
            start_time = v_start,
            end_time = v_end,
            title = coalesce(p_title, l.title),
            location = coalesce(p_location, l.location),
            notes = coalesce(p_notes, l.notes),
            client_id = case
                when p_client_ids is null then l.client_id
                when pg_catalog.cardinality(p_client_ids) = 1 then p_client_ids[1]
            end
        where l.id = v_lesson.id and l.coach_id = v_coach_id
        returning * into v_lesson;
    exception
        when exclusion_violation then
            perform private.raise_lesson_overlap(v_coach_id, v_start, v_end, v_lesson.id);
    end;

    return v_lesson;
end;
$$;

comment on function public.update_lesson(
    uuid, timestamptz, timestamptz, text, text, text, uuid[]
) is
'Changes a scheduled lesson and, when given, replaces its participants.';

revoke all on function public.update_lesson(
    uuid, timestamptz, timestamptz, text, text, text, uuid[]
)
from public, anon, authenticated, service_role;
grant execute on function public.update_lesson(
    uuid, timestamptz, timestamptz, text, text, text, uuid[]
)
to authenticated, service_role;
