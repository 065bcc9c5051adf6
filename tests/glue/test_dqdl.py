"""DQDL parsing: every supported rule form, and a clear error for everything else."""

from __future__ import annotations

import pytest

from gluescripts.etl.bundled import RULESET_FILE, bundled_text
from gluescripts.etl.dqdl import DqdlError, Expression, Keyword, parse_ruleset


def one(rule_text: str):
    (rule,) = parse_ruleset(f"Rules = [ {rule_text} ]")
    return rule


@pytest.mark.parametrize(
    ("text", "rule_type", "columns", "expression", "row_level"),
    [
        ("RowCount > 100", "RowCount", (), Expression(">", (100,)), False),
        ("RowCount between 10 and 20", "RowCount", (), Expression("between", (10, 20)), False),
        ("ColumnCount = 13", "ColumnCount", (), Expression("=", (13,)), False),
        ('ColumnExists "id"', "ColumnExists", ("id",), None, False),
        ('IsComplete "id"', "IsComplete", ("id",), None, True),
        ('Completeness "d" >= 0.95', "Completeness", ("d",), Expression(">=", (0.95,)), False),
        ('IsUnique "a" "b"', "IsUnique", ("a", "b"), None, True),
        ('Uniqueness "a" > 0.5', "Uniqueness", ("a",), Expression(">", (0.5,)), False),
        ('IsPrimaryKey "id"', "IsPrimaryKey", ("id",), None, True),
        ('ColumnValues "c" in ["x", "y", NULL]', "ColumnValues", ("c",), Expression("in", ("x", "y", Keyword("NULL"))), True),
        ('ColumnValues "c" not in ["x"]', "ColumnValues", ("c",), Expression("not in", ("x",)), True),
        ('ColumnValues "n" not between 1 and 5', "ColumnValues", ("n",), Expression("not between", (1, 5)), True),
        ('ColumnValues "n" != -1.5', "ColumnValues", ("n",), Expression("!=", (-1.5,)), True),
        ('ColumnValues "s" matches "[A-Z]{3}"', "ColumnValues", ("s",), Expression("matches", ("[A-Z]{3}",)), True),
        ('ColumnLength "s" <= 20', "ColumnLength", ("s",), Expression("<=", (20,)), True),
    ],
)
def test_supported_rule_forms(text, rule_type, columns, expression, row_level):
    rule = one(text)
    assert (rule.rule_type, rule.columns, rule.expression, rule.is_row_level) == (rule_type, columns, expression, row_level)
    assert rule.text == text


def test_with_threshold_makes_a_values_rule_dataset_level():
    rule = one('ColumnValues "c" in ["a"] with threshold > 0.9')
    assert rule.threshold == Expression(">", (0.9,))
    assert not rule.is_row_level


def test_comments_and_layout_are_ignored():
    rules = parse_ruleset('# header\nRules = [\n  RowCount > 0, # first\n  IsComplete "a"\n]\n')
    assert [r.rule_type for r in rules] == ["RowCount", "IsComplete"]


def test_string_keyword_is_not_the_null_keyword():
    assert one('ColumnValues "c" in ["NULL", NULL]').expression.operands == ("NULL", Keyword("NULL"))


def test_bundled_ruleset_parses():
    assert len(parse_ruleset(bundled_text(RULESET_FILE))) >= 10


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('Mean "rating" > 3', "unsupported rule type 'Mean' in 'Mean \"rating\" > 3'; supported: RowCount"),
        ('CustomSql "select 1" > 0', "unsupported rule type 'CustomSql'"),
        ('(IsComplete "a") and (IsUnique "a")', "composite rules (and/or) are not supported"),
        ('IsComplete "a" where "b > 1"', "'where' filters are not supported"),
        ('IsComplete "a" with threshold > 0.5', "only ColumnValues and ColumnLength take 'with threshold'"),
        ('RowCount "a" > 1', "RowCount takes 0 column name(s)"),
        ("IsComplete", "IsComplete takes 1 column name(s)"),
        ('ColumnValues "a" matches "("', "invalid regular expression"),
        ('ColumnValues "a" like "x"', "unsupported expression starting at 'like'"),
        ('Completeness "a"', "expected an expression"),
    ],
)
def test_unsupported_or_malformed_rule_is_a_clear_error(text, message):
    with pytest.raises(DqdlError, match=None) as raised:
        parse_ruleset(f"Rules = [ {text} ]")
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    "document",
    ["", "Rules = [", "Rules [ RowCount > 0 ]", 'Rules = [ RowCount > 0 IsComplete "a" ]', "Rules = [ RowCount > 0 ] extra", "Rules = [ RowCount > 0 ] ?"],
)
def test_malformed_documents_are_rejected(document):
    with pytest.raises(DqdlError):
        parse_ruleset(document)
