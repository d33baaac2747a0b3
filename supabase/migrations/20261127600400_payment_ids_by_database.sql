-- A coach's payment gets its id from the database. record_payment's write
-- half (private.payment_requests) took the new payment's id from the
-- request, so a request naming another coach's payment id failed with a
-- unique violation where a fresh id succeeded (and waited for that coach's
-- uncommitted payment): an existence oracle. The request now carries no id;
-- its trigger makes one, and record_payment reads it from the charges the
-- payment settled. The table never holds a row, so dropping the column
-- loses nothing.
-- squawk-ignore ban-drop-column
alter table private.payment_requests drop column payment_id;
