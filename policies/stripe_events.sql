-- Who can see a Stripe event: only service_role, which bypasses RLS. Row
-- level security is on with no policy at all, so every other role that
-- were ever granted the table would still see nothing (deny by default).
alter table public.stripe_events enable row level security;
