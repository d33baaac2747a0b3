-- A participant added without a price owes the lesson's price, however it
-- is added. Runs as the caller: a lesson it can not see gives price 0, and
-- the tenant-safe foreign key then refuses the row anyway.
create or replace function private.participant_price_from_lesson()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
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

comment on function private.participant_price_from_lesson() is
'Trigger: a participant added without a price owes the lesson''s price.';

revoke all on function private.participant_price_from_lesson()
from public, anon, authenticated, service_role;
