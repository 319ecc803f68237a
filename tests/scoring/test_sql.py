"""Composing hand-written SQL: parameters follow the text, whatever the nesting."""

import pytest

from scoring.sql import Sql, sql


def test_a_field_named_twice_gives_its_value_twice_in_text_order() -> None:
    statement = sql("a >= {since} AND b = {kind} AND c >= {since}", since=1, kind="won")
    assert statement == Sql("a >= %s AND b = %s AND c >= %s", (1, "won", 1))


def test_a_fragment_is_written_in_with_its_parameters_at_its_place() -> None:
    inner = sql("SELECT id FROM t WHERE x = {x}", x="inner")
    statement = sql("SELECT {a} WHERE id IN ({inner}) AND y = {y}", a=2, inner=inner, y="outer")
    assert statement.text == "SELECT %s WHERE id IN (SELECT id FROM t WHERE x = %s) AND y = %s"
    assert statement.params == (2, "inner", "outer")


def test_a_statement_unpacks_as_text_and_parameters() -> None:
    text, params = sql("x = {x}", x=3)
    assert (text, params) == ("x = %s", (3,))


def test_join_puts_the_separator_between_the_parts_with_their_parameters() -> None:
    parts = [sql("a = {v}", v=1), sql("b = {v}", v=2), sql("c = {v}", v=3)]
    assert Sql(" OR ").join(parts) == Sql("a = %s OR b = %s OR c = %s", (1, 2, 3))
    assert Sql(", ").join([]) == Sql("")


def test_a_percent_sign_in_a_template_is_refused() -> None:
    with pytest.raises(ValueError, match="Name the parameter"):
        sql("x = %s AND y = {y}", y=1)


def test_a_field_without_a_value_is_refused() -> None:
    with pytest.raises(KeyError, match="No value for"):
        sql("x = {x}")


def test_a_value_for_no_field_is_refused() -> None:
    with pytest.raises(KeyError, match="y not in"):
        sql("x = {x}", x=1, y=2)


def test_braces_written_twice_stay_in_the_text() -> None:
    assert sql("'{{}}' = {x}", x=1) == Sql("'{}' = %s", (1,))


def _tables_like(prefix: str) -> set[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        return {t for t in connection.introspection.table_names(cursor) if t.startswith(prefix)}


@pytest.mark.django_db
def test_a_scratch_table_holds_its_rows_for_the_block_only() -> None:
    from django.db import connection

    from scoring.sql import fetchall, scratch

    with scratch(sql("SELECT 1 AS n UNION ALL SELECT 2")) as table:
        assert sorted(fetchall(sql("SELECT n FROM {t}", t=table))) == [(1,), (2,)]
        if connection.vendor == "postgresql":
            # Unlogged, so parallel workers may read it (a temporary table is the connection's).
            kind = sql(
                "SELECT relpersistence FROM pg_class WHERE relname = {n}", n=table.text[1:-1]
            )
            assert fetchall(kind) == [("u",)]
    assert _tables_like("scratch_") == set()


@pytest.mark.django_db
def test_a_scratch_table_is_gone_when_its_block_fails() -> None:
    from scoring.sql import scratch

    with pytest.raises(RuntimeError), scratch(sql("SELECT 1 AS n")):
        raise RuntimeError("the block failed")
    assert _tables_like("scratch_") == set()
