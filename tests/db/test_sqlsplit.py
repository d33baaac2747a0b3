"""The statement splitter: the same statements the Supabase CLI records for a file."""

from __future__ import annotations

from backend.db.sqlsplit import split_sql


def sqls(script: str) -> list[str]:
    return [s.sql for s in split_sql(script)]


def test_semicolons_inside_quotes_comments_and_bodies_do_not_split() -> None:
    script = (
        "select 'a;b', \"c;d\", E'e\\';f';\n"
        "-- a comment; with a semicolon\n"
        "/* a block; /* nested; */ comment */ select 2;\n"
        "create function f() returns int language sql as $body$ select 1; $body$;\n"
        "create function g() returns int language plpgsql as $$ begin return 1; end $$;\n"
    )
    assert sqls(script) == [
        "select 'a;b', \"c;d\", E'e\\';f'",
        "-- a comment; with a semicolon\n/* a block; /* nested; */ comment */ select 2",
        "create function f() returns int language sql as $body$ select 1; $body$",
        "create function g() returns int language plpgsql as $$ begin return 1; end $$",
    ]


def test_begin_atomic_bodies_are_one_statement() -> None:
    script = (
        "create function h(x int) returns int language sql begin atomic\n"
        "  select case when x > 0 then 1 else 0 end;\n"
        "  select 2;\n"
        "end;\n"
        "select 3;\n"
    )
    statements = sqls(script)
    assert len(statements) == 2
    assert statements[0].endswith("end")
    assert statements[1] == "select 3"


def test_positional_parameters_are_not_dollar_quotes() -> None:
    assert sqls("prepare p as select $1::int; execute p(1);") == [
        "prepare p as select $1::int",
        "execute p(1)",
    ]


def test_each_statement_knows_its_first_line() -> None:
    statements = split_sql("\n\nselect 1;\n-- note\nselect\n  2;\n")
    assert [(s.sql, s.line) for s in statements] == [
        ("select 1", 3),
        ("-- note\nselect\n  2", 4),
    ]


def test_a_comment_after_the_last_semicolon_is_recorded_but_not_run() -> None:
    # The Supabase CLI keeps trailing text as a statement of its own; the
    # engine records it the same way so both histories match, and skips it.
    statements = split_sql("select 1; -- noqa: PRS\n")
    assert [(s.sql, s.has_code) for s in statements] == [
        ("select 1", True),
        ("-- noqa: PRS", False),
    ]


def test_whitespace_and_empty_statements_are_dropped() -> None:
    assert sqls("select 1;;\n  ;\n\n") == ["select 1"]
