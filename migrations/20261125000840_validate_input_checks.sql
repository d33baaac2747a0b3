-- Validates the checks added NOT VALID by 20261125000830_input_checks.sql
-- (a scan under SHARE UPDATE EXCLUSIVE, which lets reads and writes go on).
alter table public.lessons validate constraint lessons_times_finite;
alter table public.recurring_lessons validate constraint recurring_lessons_first_start_finite;
alter table public.coaches validate constraint coaches_full_name_length;
alter table public.coaches validate constraint coaches_business_name_length;
alter table public.coaches validate constraint coaches_email_length;
alter table public.coaches validate constraint coaches_stripe_account_id_length;
alter table public.clients validate constraint clients_first_name_length;
alter table public.clients validate constraint clients_last_name_length;
alter table public.clients validate constraint clients_email_length;
alter table public.clients validate constraint clients_phone_length;
alter table public.clients validate constraint clients_notes_length;
alter table public.lesson_types validate constraint lesson_types_name_length;
alter table public.lesson_types validate constraint lesson_types_description_length;
alter table public.recurring_lessons validate constraint recurring_lessons_title_length;
alter table public.lessons validate constraint lessons_title_length;
alter table public.lessons validate constraint lessons_location_length;
alter table public.lessons validate constraint lessons_notes_length;
alter table public.lessons validate constraint lessons_cancellation_reason_length;
alter table public.payments validate constraint payments_note_length;
alter table public.payments validate constraint payments_stripe_checkout_session_id_length;
alter table public.payments validate constraint payments_stripe_payment_intent_id_length;
