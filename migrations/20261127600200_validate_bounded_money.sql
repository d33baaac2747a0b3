-- Validates the money bounds added NOT VALID by
-- 20261127600100_bounded_money.sql (a scan under SHARE UPDATE EXCLUSIVE,
-- which lets reads and writes go on).
alter table public.lesson_types validate constraint lesson_types_price_bounded;
alter table public.lessons validate constraint lessons_price_bounded;
alter table public.lesson_participants validate constraint lesson_participants_price_bounded;
alter table public.payments validate constraint payments_amount_bounded;
alter table public.payments validate constraint payments_credit_bounded;
