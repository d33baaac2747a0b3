-- Indexes that keep every page a coach opens cheap whatever the coach's history.
--
-- The calendar and the dashboard's next-seven-days count ask for a coach's
-- lessons in a time window: without this index they read all of the coach's
-- lessons to return a handful. Under row level security the window
-- (timestamptz comparisons are leakproof) still becomes an index condition,
-- which `status = …` on an enum (not leakproof) could not.
-- squawk-ignore require-concurrent-index-creation
create index lessons_coach_start_time_idx on public.lessons (coach_id, start_time);

-- What a client owes is the sum of its unpaid billable charges; paid and
-- waived charges, which grow with every month of use, never count. This
-- partial index holds the unpaid ones only, so balances and the dashboard read
-- a client's open charges and nothing of its history. It also serves the
-- foreign key (client_id, coach_id) lookups of unpaid charges.
-- squawk-ignore require-concurrent-index-creation
create index lesson_participants_unpaid_idx
on public.lesson_participants (coach_id, client_id)
include (lesson_id, price_cents)
where payment_status = 'unpaid';
