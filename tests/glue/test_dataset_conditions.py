"""How a dataset metric is judged against a rule's condition (`Expression.holds`): exact comparisons, `between`
exclusive as Glue documents it, `in` over the literal operands. No Spark: these run in milliseconds."""

from __future__ import annotations

import pytest

from gluescripts.etl.dqdl import DqdlError, Expression, Keyword


def holds(expression: Expression, value: float) -> bool:
    return expression.holds(value)


@pytest.mark.parametrize(
    ("operator", "operand", "results"),
    [
        ("=", 4, (False, True, False)),
        ("!=", 4, (True, False, True)),
        (">", 4, (False, False, True)),
        (">=", 4, (False, True, True)),
        ("<", 4, (True, False, False)),
        ("<=", 4, (True, True, False)),
    ],
)
def test_comparisons_at_below_and_above_the_operand(operator, operand, results):
    assert tuple(holds(Expression(operator, (operand,)), value) for value in (3, 4, 5)) == results


@pytest.mark.parametrize(
    ("value", "inside"),
    [(2, False), (2.0001, True), (3, True), (3.9999, True), (4, False), (5, False)],
)
def test_between_excludes_both_bounds_and_not_between_is_its_complement(value, inside):
    assert holds(Expression("between", (2, 4)), value) is inside
    assert holds(Expression("not between", (2, 4)), value) is (not inside)


def test_in_looks_at_literal_operands_only():
    assert holds(Expression("in", (3, 5, Keyword("NULL"))), 5) is True
    assert holds(Expression("in", (3, 5)), 4) is False
    assert holds(Expression("not in", (3, 5)), 4) is True
    assert holds(Expression("not in", (3, 5, Keyword("NULL"))), 5) is False
    assert holds(Expression("in", (Keyword("NULL"),)), 0) is False


@pytest.mark.parametrize("operator", ["matches", "not matches"])
def test_a_pattern_cannot_judge_a_number(operator):
    with pytest.raises(DqdlError) as raised:
        holds(Expression(operator, ("[0-9]+",)), 3)
    assert str(raised.value) == f"'{operator} \"[0-9]+\"' cannot judge a number"
