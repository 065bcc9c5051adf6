"""DQDL parsing: the forms the local engine evaluates, DQDL it leaves to Glue, errors for what is not DQDL, and routing levels."""

from __future__ import annotations

import pytest

from gluescripts.etl.bundled import RULESET_FILE, bundled_text
from gluescripts.etl.dqdl import DATASET, ROW, Composite, DqdlError, Expression, Keyword, parse_ruleset, rule_level


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
    ("text", "expression"),
    [
        ('ColumnValues "c" = NULL', Expression("=", (Keyword("NULL"),))),
        ('ColumnValues "c" != EMPTY', Expression("!=", (Keyword("EMPTY"),))),
        ('ColumnValues "c" in [null, empty, whitespaces_only]', Expression("in", (Keyword("NULL"), Keyword("EMPTY"), Keyword("WHITESPACES_ONLY")))),
        ('ColumnValues "c" ! = "x"', Expression("!=", ("x",))),
        ('ColumnValues "d" > "2024-01-01"', Expression(">", ("2024-01-01",))),
    ],
)
def test_keywords_in_either_case_and_negation(text, expression):
    assert one(text).expression == expression


def test_bare_column_names_and_connector_words():
    assert one("IsComplete colA").columns == ("colA",)
    assert one("Completeness of col.b >= 0.5").columns == ("col.b",)
    assert one('IsPrimaryKey "a" b').columns == ("a", "b")


def test_where_and_threshold_in_glues_order():
    rule = one('ColumnValues "a" in ["x"] where "b > 1" with threshold > 0.5')
    assert (rule.where, rule.threshold, rule.is_row_level) == ("b > 1", Expression(">", (0.5,)), False)
    assert one('IsComplete "a" where "b = \'x\'"').where == "b = 'x'"


def test_composites_nest_and_and_binds_tighter_than_or():
    (rule,) = parse_ruleset('Rules = [ IsComplete "a" or IsComplete "b" AND (ColumnValues "c" > 0 or RowCount > 1) ]')
    assert isinstance(rule, Composite) and rule.operator == "or"
    first, second = rule.parts
    assert first.rule_type == "IsComplete" and second.operator == "and"
    assert second.parts[1].operator == "or" and second.parts[1].text == 'ColumnValues "c" > 0 or RowCount > 1'
    assert rule.text == 'IsComplete "a" or IsComplete "b" AND (ColumnValues "c" > 0 or RowCount > 1)'


def test_between_and_a_connector_and_are_not_composites():
    assert one("RowCount between 1 and 5").expression == Expression("between", (1, 5))
    assert one('ColumnCorrelation "a" and "b" > 0.5').not_local


@pytest.mark.parametrize(
    "text",
    [
        'Mean "rating" > 3',
        'CustomSql "select count(*) from primary" between 10 and 20',
        "RowCount > avg(last(10)) * 0.8",
        'DetectAnomalies "RowCount"',
        'ColumnValues "d" > (now() - 3 days)',
        'ColumnValues "c" in $allowed',
        'DataFreshness "d" <= 24 hours',
        'IsComplete "a" with tag = "x"',
    ],
)
def test_dqdl_the_local_engine_leaves_to_glue_parses_as_not_local(text):
    rule = one(text)
    assert rule.text == text and rule.not_local and not rule.is_row_level


def test_sections_around_the_rules_are_skipped():
    document = 'Metadata = { "Version": "1.0" }\nallowed = ["a", "b"]\nRules = [ RowCount > 0 ]\nAnalyzers = [ Mean "x" ]'
    assert [r.rule_type for r in parse_ruleset(document)] == ["RowCount"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('Bogus "rating" > 3', "unknown rule type 'Bogus' in 'Bogus \"rating\" > 3'; DQDL rule types: RowCount"),
        ('rowcount > 3', "unknown rule type 'rowcount'"),
        ('IsComplete "a" with threshold > 0.5', "only ColumnValues and ColumnLength take 'with threshold'"),
        ('RowCount "a" > 1', "RowCount takes 0 column name(s)"),
        ("IsComplete", "IsComplete takes 1 column name(s)"),
        ('ColumnValues "a" matches "("', "invalid regular expression"),
        ('ColumnValues "a" like "x"', "unsupported condition starting at 'like'"),
        ('Completeness "a"', "expected a condition"),
        ('ColumnValues "a" = Null', "expected a number or a quoted value but found 'Null'"),
        ('ColumnValues "a" > "x"', 'expected a number but found "x"'),
        ('IsComplete "a" where b', "where takes a quoted SQL condition"),
    ],
)
def test_what_is_not_dqdl_is_a_clear_error(text, message):
    with pytest.raises(DqdlError) as raised:
        parse_ruleset(f"Rules = [ {text} ]")
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ('IsComplete "a"', ROW),
        ('ColumnValues "airline" in ["AA","AF"]', ROW),  # as Glue prints it, without spaces
        ('ColumnValues "a" > 1 where "b > 0"', ROW),
        ('(IsComplete "a") and (ColumnValues "b" > 0)', ROW),
        ('(IsComplete "a") or (RowCount > 0)', DATASET),
        ('Completeness "a" >= 0.8', DATASET),
        ('Uniqueness "a" > 0.9', DATASET),
        ('ColumnValues "a" > 1 with threshold > 0.9', DATASET),
        ('CustomSql "select id from primary where x > 1"', DATASET),
        ("RowCount > 0", DATASET),
        ("not a rule at all", DATASET),
    ],
)
def test_rule_level_routes_only_row_rules(text, level):
    assert rule_level(text) == level


@pytest.mark.parametrize(
    "document",
    ["", "Rules = [", "Rules [ RowCount > 0 ]", 'Rules = [ RowCount > 0 IsComplete "a" ]', "Rules = [ RowCount > 0 ] extra", "Rules = [ RowCount > 0 ] ?"],
)
def test_malformed_documents_are_rejected(document):
    with pytest.raises(DqdlError):
        parse_ruleset(document)
