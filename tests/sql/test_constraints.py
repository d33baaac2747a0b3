"""Checks, defaults, timestamps and tenant-safe foreign keys of the tables."""

from __future__ import annotations

import uuid

import pytest

from tests.sql.conftest import (
    NOW,
    book,
    count,
    hours,
    make_client,
    make_lesson_type,
    raises_sql,
    scalar,
)


def test_coach_id_defaults_to_the_caller(pg):
    coach = pg.sign_up()
    with pg.as_coach(coach) as c:
        row = c.execute(
            "insert into clients (first_name) values ('Ann') returning coach_id"
        ).fetchone()
    assert row[0] == coach.id


def test_coach_row_has_contract_defaults(pg):
    coach = pg.sign_up()
    row = pg.admin.execute(
        "select timezone, currency from coaches where id = %s", (coach.id,)
    ).fetchone()
    assert row == ("UTC", "usd")


def test_coach_timezone_and_currency_are_checked(pg):
    coach = pg.sign_up()
    for column, value in [
        ("timezone", "Mars/Olympus"),
        ("timezone", ""),
        ("timezone", "+03"),
        ("timezone", "UTC+3"),
        ("currency", "USD"),
        ("currency", "euro"),
    ]:
        with raises_sql("23514"), pg.as_coach(coach) as c:
            c.execute(f"update coaches set {column} = %s", (value,))
    row = pg.admin.execute(
        "select timezone, currency from coaches where id = %s", (coach.id,)
    ).fetchone()
    assert row == ("UTC", "usd")


def test_coach_accepts_an_iana_timezone(pg):
    coach = pg.sign_up()
    with pg.as_coach(coach) as c:
        for name in ("Etc/GMT+3", "EST5EDT", "America/Port-au-Prince", "America/New_York"):
            c.execute("update coaches set timezone = %s", (name,))
    assert scalar(pg, "select timezone from coaches where id = %s", coach.id) == "America/New_York"


@pytest.mark.parametrize("name", ["", "   "])
def test_client_first_name_not_blank(pg, name):
    coach = pg.sign_up()
    with raises_sql("23514"), pg.as_coach(coach) as c:
        c.execute("insert into clients (first_name) values (%s)", (name,))
    assert count(pg, "clients") == 0


def test_lesson_type_checks(pg):
    coach = pg.sign_up()
    for column, value in [
        ("name", " "),
        ("duration_minutes", 0),
        ("duration_minutes", 1441),
        ("price_cents", -1),
        ("max_participants", 0),
    ]:
        values = {
            "name": "Private",
            "duration_minutes": 60,
            "price_cents": 100,
            "max_participants": 1,
        }
        values[column] = value
        with raises_sql("23514"), pg.as_coach(coach) as c:
            c.execute(
                "insert into lesson_types (name, duration_minutes, price_cents, max_participants)"
                " values (%(name)s, %(duration_minutes)s, %(price_cents)s, %(max_participants)s)",
                values,
            )
        assert count(pg, "lesson_types") == 0, column


def test_lesson_type_name_unique_per_coach_only(pg):
    a, b = pg.sign_up(), pg.sign_up()
    make_lesson_type(pg, a, "Group")
    make_lesson_type(pg, b, "Group")  # another coach may use the same name
    with raises_sql("23505"), pg.as_coach(a) as c:
        c.execute("insert into lesson_types (name, duration_minutes) values ('Group', 30)")
    assert count(pg, "lesson_types") == 2


def test_lesson_end_must_follow_start(pg):
    coach = pg.sign_up()
    with raises_sql("23514"), pg.as_coach(coach) as c:
        c.execute("insert into lessons (start_time, end_time) values (%s, %s)", (NOW, NOW))
    assert count(pg, "lessons") == 0


def test_lesson_status_is_an_enumeration(pg):
    coach = pg.sign_up()
    with raises_sql("22P02"), pg.as_coach(coach) as c:
        c.execute(
            "insert into lessons (start_time, end_time, status) values (%s, %s, 'postponed')",
            (NOW, NOW + hours(1)),
        )
    assert count(pg, "lessons") == 0


def test_participant_price_not_negative(pg):
    coach = pg.sign_up()
    client = make_client(pg, coach)
    lesson = book(pg, coach, [client], NOW + hours(24))
    with raises_sql("23514"), pg.as_coach(coach) as c:
        c.execute(
            "update lesson_participants set price_cents = -5 where lesson_id = %s", (lesson["id"],)
        )
    assert count(pg, "lesson_participants", "price_cents = 5000") == 1


def test_paid_participant_needs_payment_and_paid_at(pg):
    coach = pg.sign_up()
    client = make_client(pg, coach)
    lesson = book(pg, coach, [client], NOW - hours(3))
    # service_role may write the payment columns (coaches may not at all: test_attacks)
    with raises_sql("23514"), pg.as_service() as c:
        c.execute(
            "update lesson_participants set payment_status = 'paid' where lesson_id = %s",
            (lesson["id"],),
        )
    assert count(pg, "lesson_participants", "payment_status = 'unpaid'") == 1


def test_participant_unique_per_lesson(pg):
    coach = pg.sign_up()
    client = make_client(pg, coach)
    lesson = book(pg, coach, [client], NOW + hours(24))
    with raises_sql("23505"), pg.as_coach(coach) as c:
        c.execute(
            "insert into lesson_participants (lesson_id, client_id) values (%s, %s)",
            (lesson["id"], client),
        )
    assert count(pg, "lesson_participants") == 1


def test_payment_checks(pg):
    coach = pg.sign_up()
    client = make_client(pg, coach)
    for column, value in [("amount_cents", 0), ("credit_cents", -1), ("currency", "EUR")]:
        values = {"amount_cents": 100, "credit_cents": 0, "currency": "usd", column: value}
        with raises_sql("23514"), pg.as_service() as c:
            c.execute(
                "insert into payments (coach_id, client_id, amount_cents, credit_cents,"
                " currency, method)"
                " values (%s, %s, %s, %s, %s, 'cash')",
                (
                    coach.id,
                    client,
                    values["amount_cents"],
                    values["credit_cents"],
                    values["currency"],
                ),
            )
        assert count(pg, "payments") == 0, column


def test_stripe_session_id_is_unique(pg):
    coach = pg.sign_up()
    client = make_client(pg, coach)
    insert = (
        "insert into payments (coach_id, client_id, amount_cents, method,"
        " stripe_checkout_session_id)"
        " values (%s, %s, 100, 'stripe', 'cs_1')"
    )
    pg.admin.execute(insert, (coach.id, client))
    with raises_sql("23505"), pg.as_service() as c:
        c.execute(insert, (coach.id, client))
    assert count(pg, "payments") == 1


def test_updated_at_is_kept_by_the_database(pg):
    coach = pg.sign_up()
    client = make_client(pg, coach)
    pg.admin.execute("update clients set updated_at = '2000-01-01' where id = %s", (client,))
    with pg.as_coach(coach) as c:
        c.execute("update clients set notes = 'left-handed' where id = %s", (client,))
    assert scalar(
        pg, "select updated_at > now() - interval '1 minute' from clients where id = %s", client
    )


# Tenant safety as constraints: even service_role can not link two coaches' rows.


def test_participant_can_not_join_lesson_of_another_coach(pg):
    a, b = pg.sign_up(), pg.sign_up()
    lesson = book(pg, a, [make_client(pg, a)], NOW + hours(24))
    b_client = make_client(pg, b)
    for coach_id in (a.id, b.id):
        with raises_sql("23503"), pg.as_service() as c:
            c.execute(
                "insert into lesson_participants (lesson_id, client_id, coach_id) values (%s,"
                " %s, %s)",
                (lesson["id"], b_client, coach_id),
            )
    assert count(pg, "lesson_participants", "client_id = %s", b_client) == 0


def test_lesson_can_not_point_at_client_of_another_coach(pg):
    a, b = pg.sign_up(), pg.sign_up()
    b_client = make_client(pg, b)
    with raises_sql("23503"), pg.as_service() as c:
        c.execute(
            "insert into lessons (coach_id, client_id, start_time, end_time) values (%s, %s,"
            " %s, %s)",
            (a.id, b_client, NOW, NOW + hours(1)),
        )
    assert count(pg, "lessons") == 0


def test_lesson_can_not_use_lesson_type_of_another_coach(pg):
    a, b = pg.sign_up(), pg.sign_up()
    b_type = make_lesson_type(pg, b)
    with raises_sql("23503"), pg.as_coach(a) as c:
        c.execute(
            "insert into lessons (lesson_type_id, start_time, end_time) values (%s, %s, %s)",
            (b_type, NOW, NOW + hours(1)),
        )
    assert count(pg, "lessons") == 0


def test_charge_can_only_be_paid_by_its_own_clients_payment(pg):
    coach = pg.sign_up()
    ann, bob = make_client(pg, coach, "Ann"), make_client(pg, coach, "Bob")
    lesson = book(pg, coach, [ann], NOW - hours(3))
    bob_payment = scalar(
        pg,
        "insert into payments (coach_id, client_id, amount_cents, method, status, paid_at)"
        " values (%s, %s, 5000, 'cash', 'succeeded', now()) returning id",
        coach.id,
        bob,
    )
    with raises_sql("23503"), pg.as_service() as c:
        c.execute(
            "update lesson_participants set payment_status = 'paid', payment_id = %s, paid_at"
            " = now()"
            " where lesson_id = %s",
            (bob_payment, lesson["id"]),
        )
    assert count(pg, "lesson_participants", "payment_status = 'unpaid'") == 1


def test_service_role_can_not_move_a_row_to_another_coach(pg):
    a, b = pg.sign_up(), pg.sign_up()
    book(pg, a, [make_client(pg, a)], NOW + hours(24))
    make_lesson_type(pg, a)
    for table in ["clients", "lesson_types", "lessons", "lesson_participants"]:
        with raises_sql("42501", "tenant_immutable"), pg.as_service() as c:
            c.execute(f"update {table} set coach_id = %s", (b.id,))
        assert count(pg, table, "coach_id = %s", a.id) == 1, table


def test_coach_id_of_coaches_row_can_not_change(pg):
    a = pg.sign_up()
    with raises_sql("42501", "tenant_immutable"), pg.as_service() as c:
        c.execute("update coaches set id = %s where id = %s", (uuid.uuid4(), a.id))
    assert count(pg, "coaches", "id = %s", a.id) == 1


# Overlap: a coach gives one lesson at a time; cancelled lessons free the slot.


def test_overlapping_lessons_of_one_coach_are_refused(pg):
    coach = pg.sign_up()
    client = make_client(pg, coach)
    book(pg, coach, [client], NOW + hours(24))
    with raises_sql("23P01"), pg.as_coach(coach) as c:
        c.execute(
            "insert into lessons (start_time, end_time) values (%s, %s)",
            (NOW + hours(24.5), NOW + hours(25.5)),
        )
    assert count(pg, "lessons") == 1


def test_back_to_back_lessons_do_not_overlap(pg):
    coach = pg.sign_up()
    client = make_client(pg, coach)
    book(pg, coach, [client], NOW + hours(24))
    book(pg, coach, [client], NOW + hours(25))
    assert count(pg, "lessons") == 2


def test_cancelled_lesson_does_not_block_its_slot(pg):
    coach = pg.sign_up()
    client = make_client(pg, coach)
    lesson = book(pg, coach, [client], NOW + hours(24))
    pg.admin.execute(
        "update lessons set status = 'cancelled', cancelled_at = now() where id = %s",
        (lesson["id"],),
    )
    book(pg, coach, [client], NOW + hours(24))
    assert count(pg, "lessons") == 2


def test_two_coaches_may_teach_at_the_same_time(pg):
    a, b = pg.sign_up(), pg.sign_up()
    book(pg, a, [make_client(pg, a)], NOW + hours(24))
    book(pg, b, [make_client(pg, b)], NOW + hours(24))
    assert count(pg, "lessons") == 2


def test_btree_gist_lives_in_extensions_schema(pg):
    assert (
        scalar(
            pg,
            "select n.nspname from pg_extension e join pg_namespace n on n.oid = e.extnamespace"
            " where e.extname = 'btree_gist'",
        )
        == "extensions"
    )


# Indexes


def test_indexes_of_the_original_app_exist(pg):
    indexes = {
        (table, tuple(columns))
        for table, columns in pg.admin.execute(
            "select i.indrelid::regclass::text,"
            " array(select a.attname::text from unnest(i.indkey) with ordinality k(attnum, n)"
            " join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum order by k.n)"
            " from pg_index i join pg_class c on c.oid = i.indrelid"
            " where c.relnamespace = 'public'::regnamespace"
        )
    }
    for wanted in [
        ("lessons", ("end_time",)),
        ("lesson_participants", ("client_id", "payment_status")),
        ("lessons", ("coach_id", "client_id", "status")),
        ("lessons", ("coach_id", "is_recurring")),
        ("lesson_types", ("coach_id", "is_active", "name")),
        ("clients", ("coach_id", "first_name")),
    ]:
        assert wanted in indexes, wanted


def test_every_foreign_key_has_an_index_starting_with_its_columns(pg):
    unindexed = pg.admin.execute(
        """
        select c.conrelid::regclass::text, c.conname
        from pg_constraint c
        where c.contype = 'f' and c.connamespace = 'public'::regnamespace
          and not exists (
            select from pg_index i
            where i.indrelid = c.conrelid and i.indisvalid
              and (string_to_array(i.indkey::text, ' ')::smallint[])[1:cardinality(c.conkey)]
                  = c.conkey
          )
        """
    ).fetchall()
    assert unindexed == []


def test_participant_added_without_price_owes_the_lessons_price(pg):
    coach = pg.sign_up()
    ann, bob = make_client(pg, coach, "Ann"), make_client(pg, coach, "Bob")
    lesson = book(pg, coach, [ann], NOW + hours(24), price_cents=3300)
    with pg.as_coach(coach) as c:
        c.execute(
            "insert into lesson_participants (lesson_id, client_id) values (%s, %s)",
            (lesson["id"], bob),
        )
    assert (
        scalar(pg, "select price_cents from lesson_participants where client_id = %s", bob) == 3300
    )


def test_remaining_checks_of_lessons_payments_and_series(pg):
    coach = pg.sign_up()
    client = make_client(pg, coach)
    refused = [
        (
            "insert into lessons (coach_id, start_time, end_time, price_cents)"
            " values (%(coach)s, now(), now() + interval '1 hour', -1)"
        ),
        (
            "insert into lessons (coach_id, start_time, end_time, cancelled_at)"
            " values (%(coach)s, now(), now() + interval '1 hour', now())"
        ),
        (
            "insert into payments (coach_id, client_id, amount_cents, method, status)"
            " values (%(coach)s, %(client)s, 100, 'cash', 'succeeded')"
        ),
    ]
    series = (
        "insert into recurring_lessons (coach_id, frequency, first_start_time, duration_minutes,"
        " timezone, occurrences, until_date)"
        " values (%(coach)s, 'weekly', now(), {d}, '{tz}', {o}, {u})"
    )
    refused += [
        series.format(d=0, tz="UTC", o=1, u="null"),
        series.format(d=60, tz="Nowhere/City", o=1, u="null"),
        series.format(d=60, tz="UTC", o=105, u="null"),
        series.format(d=60, tz="UTC", o="null", u="null"),
    ]
    for statement in refused:
        with raises_sql("23514"), pg.as_service() as c:
            c.execute(statement, {"coach": coach.id, "client": client})
    for table in ("lessons", "payments", "recurring_lessons"):
        assert count(pg, table) == 0, table


def test_no_foreign_key_crosses_coaches(pg):
    a, b = pg.sign_up(), pg.sign_up()
    b_type = make_lesson_type(pg, b)
    b_client = make_client(pg, b)
    b_series = scalar(
        pg,
        "insert into recurring_lessons (coach_id, frequency, first_start_time, duration_minutes,"
        " timezone, occurrences) values (%s, 'weekly', now(), 60, 'UTC', 1) returning id",
        b.id,
    )
    attempts = [
        (
            "insert into recurring_lessons (coach_id, lesson_type_id, frequency, first_start_time,"
            " duration_minutes, timezone, occurrences)"
            " values (%(a)s, %(x)s, 'weekly', now(), 60, 'UTC', 1)",
            b_type,
        ),
        (
            "insert into lessons (coach_id, recurring_lesson_id, start_time, end_time)"
            " values (%(a)s, %(x)s, now(), now() + interval '1 hour')",
            b_series,
        ),
        (
            "insert into payments (coach_id, client_id, amount_cents, method)"
            " values (%(a)s, %(x)s, 100, 'cash')",
            b_client,
        ),
    ]
    for statement, foreign_id in attempts:
        with raises_sql("23503"), pg.as_service() as c:
            c.execute(statement, {"a": a.id, "x": foreign_id})
    assert count(pg, "recurring_lessons", "coach_id = %s", a.id) == 0
    assert count(pg, "lessons") == 0
    assert count(pg, "payments") == 0
