"""DQDL parsing: the rules read whole (columns, conditions), those read by type only, errors for what is not DQDL, and routing levels."""

from __future__ import annotations

import pytest

from gluescripts.etl.bundled import RULESET_FILE, bundled_text
from gluescripts.etl.dqdl import DATASET, DQDL_RULE_TYPES, ROW, Composite, DqdlError, Expression, Keyword, parse_ruleset, rule_level


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
    assert one('ColumnCorrelation "a" and "b" > 0.5').unread
    assert one("ColumnCorrelation a and b > 0.5").rule_type == "ColumnCorrelation"  # bare names: a word after `and`


def test_the_and_after_a_between_joins_the_next_rule():
    # AWS's published examples put a parenthesis after a between's own `and`; the `and` after its
    # upper bound still joins two rules.
    (rule,) = parse_ruleset('Rules = [ ColumnValues "a" between (now() - 3 days) and (now() + 1 hours) and IsComplete "b" and RowCount between 1 and 9 ]')
    assert isinstance(rule, Composite) and rule.operator == "and"
    assert [part.rule_type for part in rule.parts] == ["ColumnValues", "IsComplete", "RowCount"]
    assert rule.parts[0].text == 'ColumnValues "a" between (now() - 3 days) and (now() + 1 hours)'
    assert rule.parts[2].expression == Expression("between", (1, 9))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('Mean "rating" > 3', "Mean rules are left to the engine"),
        ('CustomSql "select count(*) from primary" between 10 and 20', "CustomSql rules are left to the engine"),
        ("RowCount > avg(last(10)) * 0.8", "dynamic rules (avg(...)) need the run history Glue keeps"),
        ('DetectAnomalies "RowCount"', "DetectAnomalies rules are left to the engine"),
        ('ColumnValues "d" > (now() - 3 days)', "date and arithmetic expressions are left to the engine"),
        ('ColumnValues "c" in $allowed', "variables are left to the engine"),
        ('ColumnValues "c" in ["a", $x]', "variables are left to the engine"),
        ('ColumnValues "c" = $x', "variables are left to the engine"),
        ("IsPrimaryKey $k", "variables are left to the engine"),
        ('ColumnValues "n" > 3 * 2', "arithmetic in conditions is left to the engine"),
        ("RowCount > 10 - 1", "arithmetic in conditions is left to the engine"),
        ('ColumnLength "s" < 10 KB', "durations and sizes are left to the engine"),
        ('DataFreshness "d" <= 24 hours', "DataFreshness rules are left to the engine"),
        ('IsComplete "a" with tag = "x"', "tags other than 'with threshold' are left to the engine"),
    ],
)
def test_rules_read_by_type_only_say_what_was_left_to_the_engine_and_are_never_row_rules(text, reason):
    rule = one(text)
    assert (rule.text, rule.unread, rule.is_row_level) == (text, reason, False)


def test_a_rule_read_by_type_only_does_not_swallow_the_next_one():
    rules = parse_ruleset('Rules = [ Mean "a" > avg(last(3)), ColumnValues "b" in $allowed, IsComplete "c" ]')
    assert [(r.rule_type, r.columns) for r in rules] == [("Mean", ()), ("ColumnValues", ()), ("IsComplete", ("c",))]


def test_a_composite_takes_its_parts_columns_and_the_first_part_left_to_the_engine():
    (rule,) = parse_ruleset('Rules = [ (IsComplete "a") and (IsUnique "b" "c") and (Mean "d" > 1) and (Sum "e" > 1) ]')
    assert rule.columns == ("a", "b", "c")
    assert rule.unread == "Mean rules are left to the engine"
    assert not rule.is_row_level
    (local,) = parse_ruleset('Rules = [ (IsComplete "a") or (ColumnValues "b" > 1) ]')
    assert (local.unread, local.is_row_level) == (None, True)


def test_nested_sections_and_labels_are_skipped_whole():
    document = (
        'Metadata = { "Version": "1.0", "Owner": { "team": ["a", "b"], "note": ("x") } }\n'
        'DataSources = { "Default": "travel.complaints" }\n'
        'Rules = [ (IsComplete "a") labels = {"team": "x"}, ColumnValues "b" > 0 labels = ["y"] ]\n'
        'Analyzers = [ Mean "x", Sum "y" ]'
    )
    assert [r.rule_type for r in parse_ruleset(document)] == ["IsComplete", "ColumnValues"]


def test_eight_key_columns_at_most_and_a_quoted_name_may_be_a_reserved_word():
    assert one('IsUnique "a" "b" "c" "d" "e" "f" "g" "h"').columns == tuple("abcdefgh")
    assert one('IsComplete "in"').columns == ("in",)
    assert one('ColumnValues "with" = 1').columns == ("with",)


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
        # A connector with no rule after it is named with the rule it dangles from.
        ('IsComplete "a" or', "rule 'IsComplete \"a\" or': unexpected 'or'"),
        ('IsComplete "a" and, IsComplete "b"', "rule 'IsComplete \"a\" and': unexpected 'and'"),
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
    ("document", "message"),
    [
        ("", "no rules: expected Rules = [ rule, rule, ... ]"),
        ("Rules = [", "the ruleset ends early; expected a rule"),
        ("Rules [ RowCount > 0 ]", "no rules: expected Rules = [ rule, rule, ... ]"),
        ('Rules = [ RowCount > 0 IsComplete "a" ]', "rule 'RowCount > 0 IsComplete \"a\"': unexpected 'IsComplete'"),
        ("Rules = [ RowCount > 0 ] extra", "unexpected text after the closing ']': 'extra'"),
        ("Rules = [ RowCount > 0 ] ?", "unexpected character '?' at offset 24"),
        ("Rules = [ RowCount > 0 ; ]", "unexpected character ';' at offset 22"),
        ('Metadata = { "a": [1, 2 } Rules = [ RowCount > 0 ]', "the ruleset ends early; expected a closing '}'"),
        ("Rules = [ RowCount between 1 or 5 ]", "rule 'RowCount between 1 or 5': expected 'and' in 'between'"),
        ('Rules = [ ColumnValues "a" in ["x" "y"] ]', "expected ']' but found 'y'"),
        ('Rules = [ ColumnValues "a" matches x ]', "rule 'ColumnValues \"a\" matches x': matches takes a quoted regular expression"),
        ("Rules = [ IsUnique ]", "rule 'IsUnique': IsUnique takes 1 to 8 column name(s)"),
        ("Rules = [ RowCount > 0 }", "rule 'RowCount > 0 }': unexpected '}'"),
        ('Rules = [ (IsComplete "a") } ]', "expected ',' or ']' after rule 'IsComplete \"a\"' but found '}'"),
        ("Rules = [ RowCount > 0,", "the ruleset ends early; expected a rule"),
        ("Rules = [ RowCount > 0", "the ruleset ends early; expected ',' or ']'"),
        ('Rules = [ (IsComplete "a" ]', "expected ')' but found ']'"),
        # Quoted text is never syntax, however it reads.
        ('Rules = [ ColumnValues "a" > 1 "where" "b > 0" ]', "rule 'ColumnValues \"a\" > 1 \"where\" \"b > 0\"': unexpected 'where'"),
        ('x = 1 "Rules" = [ RowCount > 0 ]', "no rules: expected Rules = [ rule, rule, ... ]"),
        ('Rules "=" [ RowCount > 0 ]', "the ruleset ends early; expected more rules"),
        # Where the text ends early, the message says what was expected there.
        ('Rules = [ ColumnValues "a" not', "the ruleset ends early; expected more rules"),
        ("Metadata =", "the ruleset ends early; expected more rules"),
        ('Rules = [ ColumnValues "a" =', "the ruleset ends early; expected a value"),
        ('Rules = [ IsComplete "a" where', "the ruleset ends early; expected a quoted filter"),
        ('Rules = [ ColumnValues "a" matches', "the ruleset ends early; expected a quoted regular expression"),
        ("Rules =", "the ruleset ends early; expected '['"),
        # Values: numbers where a number is due, every operand checked, the rule named.
        ('Rules = [ RowCount between "x" and 5 ]', "rule 'RowCount between \"x\" and 5': expected a number but found \"x\""),
        ('Rules = [ RowCount between 1 and "x" ]', "rule 'RowCount between 1 and \"x\"': expected a number but found \"x\""),
        ('Rules = [ ColumnValues "a" in [Null] ]', "rule 'ColumnValues \"a\" in [Null]': expected a number or a quoted value but found 'Null'"),
        ('Rules = [ ColumnValues "a" in ["x", Null] ]', "rule 'ColumnValues \"a\" in [\"x\", Null]': expected a number or a quoted value but found 'Null'"),
        ('Rules = [ ColumnValues "a" > Null ]', "rule 'ColumnValues \"a\" > Null': expected a number or a quoted value but found 'Null'"),
        ('Rules = [ ColumnValues "a" = ] ]', "rule 'ColumnValues \"a\" =': expected a number or a quoted value but found ']'"),
        ('Rules = [ ColumnValues "a" in ["x"] with threshold > "y" ]', "rule 'ColumnValues \"a\" in [\"x\"] with threshold > \"y\"': expected a number but found \"y\""),
        ('Rules = [ ColumnValues "a" in ["x"] with threshold ]', "rule 'ColumnValues \"a\" in [\"x\"] with threshold': expected a condition such as '> 0' or 'in [...]'"),
        ('Rules = [ ColumnValues "a" [1] ]', "rule 'ColumnValues \"a\" [1]': unsupported condition starting at '['"),
        ("Rules = [ RowCount > 0 and", "rule 'RowCount > 0 and': unexpected 'and'"),
        # `and` joins two rules only when a rule type or a parenthesis follows it.
        ("Rules = [ RowCount between 1 and five ]", "rule 'RowCount between 1 and five': expected a number or a quoted value but found 'five'"),
        ("Rules = [ RowCount > 0 and IsComplete", "rule 'IsComplete': IsComplete takes 1 column name(s)"),
        ('Rules = [ IsComplete "a"', "the ruleset ends early; expected ',' or ']'"),
        ("Rules = [ ]", "Rules = [ ] holds no rule; DQDL expects at least one"),
        ('Rules = "[" RowCount > 0 ]', "expected '[' but found '['"),
    ],
)
def test_malformed_documents_are_rejected_with_what_was_expected_where(document, message):
    with pytest.raises(DqdlError) as raised:
        parse_ruleset(document)
    assert str(raised.value) == message


def test_the_unknown_rule_type_message_lists_every_dqdl_rule_type():
    with pytest.raises(DqdlError) as raised:
        parse_ruleset("Rules = [ Bogus > 1 ]")
    assert str(raised.value) == "unknown rule type 'Bogus' in 'Bogus > 1'; DQDL rule types: " + ", ".join(DQDL_RULE_TYPES)
    assert DQDL_RULE_TYPES[:2] == ("RowCount", "ColumnCount") and DQDL_RULE_TYPES[-1] == "FileSize"


@pytest.mark.parametrize("unit", ["days", "hours", "minutes", "B", "KB", "MB", "GB", "TB"])
def test_durations_and_sizes_are_left_to_glue(unit):
    assert one(f'ColumnValues "a" > 3 {unit}').unread == "durations and sizes are left to the engine"


@pytest.mark.parametrize(
    ("text", "expression"),
    [
        ('ColumnValues "a" = "x"', Expression("=", ("x",))),
        ('ColumnValues "a" != "x"', Expression("!=", ("x",))),
        ('ColumnValues "a" not matches "[0-9]+"', Expression("not matches", ("[0-9]+",))),
        ('ColumnValues "a" not in ["x"]', Expression("not in", ("x",))),
        ('ColumnValues "a" = "say \\"hi\\""', Expression("=", ('say "hi"',))),
    ],
)
def test_quoted_values_negations_and_escapes(text, expression):
    assert one(text).expression == expression


def test_numbers_keep_their_type_as_written():
    assert one("RowCount > 100").expression == Expression(">", (100,))
    assert isinstance(one("RowCount > 100").expression.operands[0], int)
    assert isinstance(one('Completeness "a" > 0.5').expression.operands[0], float)


def test_sections_with_quoted_brackets_or_parentheses_are_skipped():
    assert [r.rule_type for r in parse_ruleset('x = "[" Rules = [ RowCount > 0 ]')] == ["RowCount"]
    assert [r.rule_type for r in parse_ruleset("limits = (1, [2]) Rules = [ RowCount > 0 ]")] == ["RowCount"]


def test_connector_words_and_composite_texts():
    assert one('Completeness OF "a" >= 0.5').columns == ("a",)
    rule = one('IsComplete "a" and IsComplete "b"')
    assert (rule.operator, rule.text) == ("and", 'IsComplete "a" and IsComplete "b"')


def test_and_before_a_variable_belongs_to_between():
    assert one("RowCount between 1 and $max").unread == "variables are left to the engine"


def test_a_parenthesized_section_is_skipped_whole_even_when_it_looks_like_rules():
    assert [r.rule_type for r in parse_ruleset('x = ( Rules = [ IsComplete "a" ] ) Rules = [ RowCount > 0 ]')] == ["RowCount"]
