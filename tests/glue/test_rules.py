"""Each supported rule type on small frames: NULLs, empty input and boundaries, as Glue documents them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pyspark.sql import functions as F

from gluescripts.etl.dqdl import Expression
from gluescripts.etl.evaluate import EvaluationError, _values_condition, evaluate_locally
from gluescripts.etl.quality import EVALUATION_RESULT, ROW_OUTCOME_COLUMNS, RULES_FAIL, RULES_PASS, RULES_SKIP

SCHEMA = "id int, name string, rating int, score double"
ROWS = [
    (1, "anna", 5, 0.5),
    (2, None, 1, 1.0),
    (2, "bo", None, 2.5),
    (None, "", 3, None),
]


@dataclass(frozen=True)
class Result:
    outcome: str
    metric: float | None
    failed_rows: int
    reason: str | None
    level: str


def judge(spark, rule_texts, rows=ROWS, schema: str = SCHEMA) -> dict:
    """Each rule's outcome, and the (id, name) of every row whose DataQualityRulesFail names it."""
    results = evaluate_locally(spark.createDataFrame(rows, schema), "Rules = [ " + ", ".join(rule_texts) + " ]")
    rows_out = results.row_outcomes.collect()
    judged = {}
    for outcome in results.rule_outcomes:
        failing = [row for row in rows_out if outcome.rule in row[RULES_FAIL]]
        metric = next(iter(outcome.evaluated_metrics.values()), None)
        result = Result(outcome.outcome, metric, len(failing), outcome.failure_reason, outcome.level)
        judged[outcome.rule] = (result, sorted(((row["id"], row["name"]) for row in failing), key=str))
    return judged


def evaluate(spark, rule_text: str, rows=ROWS, schema: str = SCHEMA):
    """One rule's outcome and the rows it flags."""
    return judge(spark, [rule_text], rows, schema)[rule_text]


def outcomes(spark, rule_texts, rows=ROWS) -> dict[str, str]:
    return {rule: result.outcome for rule, (result, _) in judge(spark, rule_texts, rows).items()}


# Every rule the tests below judge on ROWS, evaluated together once per module: one Spark evaluation
# instead of one per test, and a check that rules do not disturb each other.
ON_ROWS = (
    'RowCount = 4',
    'RowCount > 4',
    'RowCount >= 4',
    'RowCount < 4',
    'RowCount <= 4',
    'RowCount between 3 and 5',
    'RowCount between 4 and 5',
    'RowCount not between 4 and 5',
    'ColumnCount = 4',
    'ColumnExists "rating"',
    'ColumnExists "price"',
    'IsComplete "name"',
    'Completeness "rating" >= 0.75',
    'Completeness "rating" > 0.75',
    'IsUnique "id"',
    'IsUnique "id" "name"',
    'IsPrimaryKey "id"',
    'Uniqueness "id" > 0.3',
    'Uniqueness "id" >= 0.5',
    'ColumnValues "rating" in [1, 3, 5]',
    'ColumnValues "rating" in [1, 3, 5, NULL]',
    'ColumnValues "rating" not in [1]',
    'ColumnValues "rating" not in [1, NULL]',
    'ColumnValues "rating" > 1',
    'ColumnValues "rating" >= 1',
    'ColumnValues "rating" != 5',
    'ColumnValues "rating" between 1 and 5',
    'ColumnValues "score" <= 1.0',
    'ColumnValues "name" matches "[a-z]+"',
    'ColumnValues "name" matches "nn"',
    'ColumnValues "name" in ["anna", EMPTY]',
    'ColumnValues "rating" = 3',
    'ColumnValues "rating" < 3',
    'ColumnValues "rating" not between 1 and 5',
    'ColumnValues "rating" in [1, 3, 5] with threshold >= 0.75',
    'ColumnValues "rating" in [1, 3, 5] with threshold > 0.75',
    'ColumnLength "name" >= 2',
    'ColumnLength "name" < 3',
    'ColumnValues "name" = NULL',
    'ColumnValues "name" != NULL',
    'ColumnValues "name" = EMPTY',
    'ColumnValues "name" != EMPTY',
    'ColumnValues "rating" = null',
    'ColumnValues "name" in ["anna", empty, null]',
    'ColumnValues rating >= 3',
    'ColumnValues "name" not matches "[a-z]+"',
    'RowCount between 4 and 6',
    'RowCount between 2 and 4',
    'RowCount not between 4 and 6',
    'RowCount not between 3 and 5',
    '(IsComplete "name") and (ColumnValues "rating" >= 3)',
    '(ColumnValues "rating" > 4) or (ColumnValues "score" < 1)',
    'ColumnValues "rating" = NULL OR ColumnValues "rating" >= 3',
    '(RowCount > 10) or (IsComplete "id")',
    '(RowCount > 3) and (ColumnCount = 4)',
    'IsComplete "name" where "rating > 1"',
    'ColumnValues "rating" >= 3 where "id = 2"',
    'RowCount = 2 where "id = 2"',
    'Completeness "rating" = 0.5 where "id = 2"',
    'IsUnique "id" where "rating > 1"',
    'RowCount > avg(last(3))',
    'Mean "rating" > 3',
    'CustomSql "select count(*) from primary" > 0',
    'DetectAnomalies "RowCount"',
    'ColumnValues "rating" > (now() - 3 days)',
    'ReferentialIntegrity "id" "reference.id" = 1.0',
    'ColumnValues "name" in [EMPTY]',
    'ColumnValues "name" in [NULL]',
    'ColumnValues "name" not in [EMPTY, NULL]',
)


@pytest.fixture(scope="module")
def on_rows(spark) -> dict:
    return judge(spark, ON_ROWS)


def pick(judged: dict, rule_texts) -> dict:
    return {rule: judged[rule] for rule in rule_texts}


def outcomes_in(judged: dict, rule_texts) -> dict[str, str]:
    return {rule: judged[rule][0].outcome for rule in rule_texts}


def test_row_count_boundaries(spark, on_rows):
    assert outcomes_in(on_rows, ["RowCount = 4", "RowCount > 4", "RowCount >= 4", "RowCount < 4", "RowCount <= 4"]) == {
        "RowCount = 4": "Passed", "RowCount > 4": "Failed", "RowCount >= 4": "Passed",
        "RowCount < 4": "Failed", "RowCount <= 4": "Passed",
    }
    assert evaluate(spark, "RowCount > 0", rows=[])[0].metric == 0


def test_between_is_exclusive(on_rows):
    assert outcomes_in(on_rows, ["RowCount between 3 and 5", "RowCount between 4 and 5", "RowCount not between 4 and 5"]) == {
        "RowCount between 3 and 5": "Passed", "RowCount between 4 and 5": "Failed", "RowCount not between 4 and 5": "Passed",
    }


def test_column_count_and_exists(on_rows):
    judged = pick(on_rows, ["ColumnCount = 4", 'ColumnExists "rating"', 'ColumnExists "price"'])
    assert judged["ColumnCount = 4"][0].metric == 4
    assert judged['ColumnExists "rating"'][0].outcome == "Passed"
    missing = judged['ColumnExists "price"'][0]
    assert (missing.outcome, missing.reason) == ("Failed", "column is absent")


def test_is_complete_flags_null_rows_only(on_rows):
    result, flagged = on_rows['IsComplete "name"']
    assert (result.outcome, result.level, result.failed_rows, result.metric) == ("Failed", "row", 1, 0.75)
    assert flagged == [(2, None)]  # the empty string is a value, not a missing one


def test_is_complete_on_empty_input_passes(spark):
    result, _ = evaluate(spark, 'IsComplete "name"', rows=[])
    assert (result.outcome, result.failed_rows) == ("Passed", 0)


def test_completeness_ratio_and_boundary(on_rows):
    judged = pick(on_rows, ['Completeness "rating" >= 0.75', 'Completeness "rating" > 0.75'])
    result, flagged = judged['Completeness "rating" >= 0.75']
    assert (result.outcome, result.metric, result.level) == ("Passed", 0.75, "dataset")
    # Listed as failed for the NULL row, as Glue does; a dataset-level rule still quarantines nothing.
    assert flagged == [(2, "bo")]
    assert judged['Completeness "rating" > 0.75'][0].outcome == "Failed"


def test_completeness_on_empty_input_fails_with_reason(spark):
    result, _ = evaluate(spark, 'Completeness "rating" > 0.5', rows=[])
    assert (result.outcome, result.reason) == ("Failed", "no values to measure")


def test_is_unique_flags_every_duplicate_and_ignores_nulls(on_rows):
    result, flagged = on_rows['IsUnique "id"']
    assert (result.outcome, result.failed_rows) == ("Failed", 2)
    assert flagged == sorted([(2, None), (2, "bo")], key=str)


def test_is_unique_over_several_columns(on_rows):
    result, flagged = on_rows['IsUnique "id" "name"']
    assert (result.outcome, flagged) == ("Passed", [])


def test_is_primary_key_also_fails_nulls(on_rows):
    result, flagged = on_rows['IsPrimaryKey "id"']
    assert result.failed_rows == 3
    assert flagged == sorted([(2, None), (2, "bo"), (None, "")], key=str)


def test_uniqueness_is_values_seen_once_over_non_null_rows(on_rows):
    judged = pick(on_rows, ['Uniqueness "id" > 0.3', 'Uniqueness "id" >= 0.5'])
    result, flagged = judged['Uniqueness "id" > 0.3']
    assert (result.outcome, result.metric, result.level) == ("Passed", 1 / 3, "dataset")
    assert flagged == sorted([(2, None), (2, "bo")], key=str)
    assert judged['Uniqueness "id" >= 0.5'][0].outcome == "Failed"


COLUMN_VALUES_SEMANTICS = dict(
    [
        ('ColumnValues "rating" in [1, 3, 5]', [(2, "bo")]),  # NULL fails a set without NULL
        ('ColumnValues "rating" in [1, 3, 5, NULL]', []),
        ('ColumnValues "rating" not in [1]', [(2, None)]),  # NULL passes not in
        ('ColumnValues "rating" not in [1, NULL]', [(2, None), (2, "bo")]),
        ('ColumnValues "rating" > 1', [(2, None), (2, "bo")]),  # NULL fails comparisons
        ('ColumnValues "rating" >= 1', [(2, "bo")]),
        ('ColumnValues "rating" != 5', [(1, "anna")]),  # NULL passes !=
        ('ColumnValues "rating" between 1 and 5', [(1, "anna"), (2, None), (2, "bo")]),  # exclusive
        ('ColumnValues "score" <= 1.0', [(2, "bo"), (None, "")]),
        ('ColumnValues "name" matches "[a-z]+"', [(2, None), (None, "")]),  # whole value must match
        ('ColumnValues "name" matches "nn"', [(1, "anna"), (2, None), (2, "bo"), (None, "")]),
        ('ColumnValues "name" in ["anna", EMPTY]', [(2, None), (2, "bo")]),
        ('ColumnValues "rating" = 3', [(1, "anna"), (2, None), (2, "bo")]),
        ('ColumnValues "rating" < 3', [(1, "anna"), (2, "bo"), (None, "")]),
        ('ColumnValues "rating" not between 1 and 5', [(2, "bo"), (None, "")]),  # NULL fails it too
    ]
)


def test_column_values_semantics(on_rows):
    judged = pick(on_rows, list(COLUMN_VALUES_SEMANTICS))
    for rule, failing in COLUMN_VALUES_SEMANTICS.items():
        result, flagged = judged[rule]
        assert flagged == sorted(failing, key=str), rule
        assert result.failed_rows == len(failing), rule
        assert result.outcome == ("Passed" if not failing else "Failed"), rule


def test_whitespace_only_keyword(spark):
    rows = [(1, "  ", 1, 1.0), (2, "", 1, 1.0), (3, "x", 1, 1.0)]
    _, flagged = evaluate(spark, 'ColumnValues "name" in ["x", WHITESPACES_ONLY]', rows=rows)
    assert flagged == [(2, "")]


def test_with_threshold_judges_the_share_and_keeps_the_rows(on_rows):
    at_least, above = (
        'ColumnValues "rating" in [1, 3, 5] with threshold >= 0.75',
        'ColumnValues "rating" in [1, 3, 5] with threshold > 0.75',
    )
    judged = pick(on_rows, [at_least, above])
    result, flagged = judged[at_least]
    assert (result.outcome, result.metric, result.failed_rows, result.level) == ("Passed", 0.75, 1, "dataset")
    assert flagged == [(2, "bo")]
    assert judged[above][0].outcome == "Failed"


def test_column_length_counts_null_as_zero(on_rows):
    judged = pick(on_rows, ['ColumnLength "name" >= 2', 'ColumnLength "name" < 3'])
    assert judged['ColumnLength "name" >= 2'][1] == [(2, None), (None, "")]
    assert judged['ColumnLength "name" < 3'][1] == [(1, "anna")]


def test_rule_on_unknown_column_is_an_error(spark):
    with pytest.raises(EvaluationError, match="rule 'IsComplete \"price\"' refers to unknown column"):
        evaluate(spark, 'IsComplete "price"')


def test_is_unique_treats_rows_with_the_same_partial_nulls_as_duplicates(spark):
    rows = [(1, None, 1, 1.0), (1, None, 2, 1.0), (2, None, 3, 1.0), (None, None, 4, 1.0), (None, None, 5, 1.0)]
    result, flagged = evaluate(spark, 'IsUnique "id" "name"', rows=rows)
    assert flagged == [(1, None), (1, None)]  # all-NULL keys are ignored, partly NULL keys compared
    assert result.failed_rows == 2


def test_the_data_is_scanned_once_for_the_whole_ruleset(spark, tmp_path):
    """Every metric, uniqueness included, comes from one pass: each row is produced exactly once."""
    # A file rather than an accumulator: Python workers append to it from any driver process.
    produced = tmp_path / "produced"
    produced.touch()

    def probe(value):
        with open(produced, "a") as log:
            log.write("x")
        return value

    frame = spark.createDataFrame(ROWS, SCHEMA).withColumn("probe", F.udf(probe, "double")("score"))
    results = evaluate_locally(
        frame,
        'Rules = [ RowCount > 0, IsComplete "name", Completeness "rating" > 0.5, IsPrimaryKey "id", '
        'Uniqueness "id" > 0.1, ColumnValues "rating" >= 1, ColumnLength "name" < 10, ColumnValues "probe" >= 0 ]',
    )
    assert len(produced.read_text()) == len(ROWS)
    outcomes = [r.outcome for r in results.rule_outcomes]
    assert outcomes == ["Passed", "Failed", "Passed", "Failed", "Passed", "Failed", "Passed", "Failed"]


KEYWORD_COMPARISONS = dict(
    [
        ('ColumnValues "name" = NULL', [(1, "anna"), (2, "bo"), (None, "")]),
        ('ColumnValues "name" != NULL', [(2, None)]),
        ('ColumnValues "name" = EMPTY', [(1, "anna"), (2, None), (2, "bo")]),
        ('ColumnValues "name" != EMPTY', [(None, "")]),  # NULL is not empty
        ('ColumnValues "rating" = null', [(1, "anna"), (2, None), (None, "")]),  # keywords in either case
        ('ColumnValues "name" in ["anna", empty, null]', [(2, "bo")]),
        ("ColumnValues rating >= 3", [(2, None), (2, "bo")]),  # a bare column name
        ('ColumnValues "name" not matches "[a-z]+"', [(1, "anna"), (2, "bo"), (2, None)]),  # NULL fails it too
    ]
)


def test_keyword_comparisons_and_bare_column_names(on_rows):
    judged = pick(on_rows, list(KEYWORD_COMPARISONS))
    for rule, failing in KEYWORD_COMPARISONS.items():
        result, flagged = judged[rule]
        assert flagged == sorted(failing, key=str), rule
        assert result.outcome == ("Passed" if not failing else "Failed"), rule


def test_ratios_are_compared_unrounded(spark):
    rows = [(1, "a", 1, 1.0), (2, "b", 1, 1.0), (3, None, 1, 1.0)]
    rules = [
        'Completeness "name" >= 0.6666667',
        'Completeness "name" >= 0.6666666',
        'ColumnValues "name" in ["a", "b"] with threshold >= 0.6666667',
    ]
    assert outcomes(spark, rules, rows) == dict(zip(rules, ["Failed", "Passed", "Failed"]))


def test_dataset_between_excludes_both_bounds(on_rows):
    rules = ["RowCount between 4 and 6", "RowCount between 2 and 4", "RowCount not between 4 and 6", "RowCount not between 3 and 5"]
    assert outcomes_in(on_rows, rules) == dict(zip(rules, ["Failed", "Failed", "Passed", "Failed"]))


def test_composite_and_fails_rows_failing_either_part(on_rows):
    result, flagged = on_rows['(IsComplete "name") and (ColumnValues "rating" >= 3)']
    assert flagged == sorted([(2, None), (2, "bo")], key=str)
    assert (result.outcome, result.level) == ("Failed", "row")


def test_composite_or_fails_rows_failing_both_parts(on_rows):
    either, null_or_high = (
        '(ColumnValues "rating" > 4) or (ColumnValues "score" < 1)',
        'ColumnValues "rating" = NULL OR ColumnValues "rating" >= 3',
    )
    judged = pick(on_rows, [either, null_or_high])
    assert judged[either][1] == sorted([(2, None), (2, "bo"), (None, "")], key=str)
    assert judged[null_or_high][1] == [(2, None)]  # the documented way to let NULLs through, parentheses optional


def test_composite_with_a_dataset_rule_judges_the_batch_only(on_rows):
    judged = pick(on_rows, ['(RowCount > 10) or (IsComplete "id")', "(RowCount > 3) and (ColumnCount = 4)"])
    result, flagged = judged['(RowCount > 10) or (IsComplete "id")']
    assert (result.outcome, result.level, flagged) == ("Failed", "dataset", [])
    assert judged["(RowCount > 3) and (ColumnCount = 4)"][0].outcome == "Passed"


def test_where_filters_the_rows_a_rule_judges(on_rows):
    judged = pick(on_rows,
        [
            'IsComplete "name" where "rating > 1"',
            'ColumnValues "rating" >= 3 where "id = 2"',
            'RowCount = 2 where "id = 2"',
            'Completeness "rating" = 0.5 where "id = 2"',
            'IsUnique "id" where "rating > 1"',
        ],
    )
    result, flagged = judged['IsComplete "name" where "rating > 1"']
    assert (result.outcome, flagged) == ("Passed", [])  # the NULL name has rating 1: outside the filter
    assert judged['ColumnValues "rating" >= 3 where "id = 2"'][1] == sorted([(2, None), (2, "bo")], key=str)
    assert judged['RowCount = 2 where "id = 2"'][0].outcome == "Passed"
    assert judged['Completeness "rating" = 0.5 where "id = 2"'][0].outcome == "Passed"
    result, flagged = judged['IsUnique "id" where "rating > 1"']
    assert (result.outcome, flagged) == ("Passed", [])


def test_a_bad_where_filter_names_its_rule(spark):
    with pytest.raises(EvaluationError, match="rule 'IsComplete \"name\" where \"nope > 1\"': where \"nope > 1\" is not a valid condition"):
        evaluate(spark, 'IsComplete "name" where "nope > 1"')


UNSUPPORTED_LOCALLY = (
    "RowCount > avg(last(3))",
    'Mean "rating" > 3',
    'CustomSql "select count(*) from primary" > 0',
    'DetectAnomalies "RowCount"',
    'ColumnValues "rating" > (now() - 3 days)',
    'ReferentialIntegrity "id" "reference.id" = 1.0',
)


def test_rules_the_local_engine_cannot_evaluate_are_reported_never_passed(on_rows):
    judged = pick(on_rows, UNSUPPORTED_LOCALLY)
    for rule in UNSUPPORTED_LOCALLY:
        result, flagged = judged[rule]
        assert result.outcome == "NotEvaluatedLocally", rule
        assert result.reason.startswith("not evaluated locally: "), rule
        assert flagged == [], rule


def test_row_outcomes_follow_glues_shape(spark):
    results = evaluate_locally(
        spark.createDataFrame(ROWS, SCHEMA), 'Rules = [ RowCount > 0, IsComplete "name", Mean "score" > 1 ]'
    )
    frame = results.row_outcomes
    assert frame.columns == ["id", "name", "rating", "score", *ROW_OUTCOME_COLUMNS]
    rows = {row["id"]: row for row in frame.collect() if row["name"] != "bo"}
    assert rows[1][RULES_PASS] == ['IsComplete "name"'] and rows[1][RULES_FAIL] == []
    assert rows[2][RULES_FAIL] == ['IsComplete "name"'] and rows[2][EVALUATION_RESULT] == "Failed"
    assert rows[1][RULES_SKIP] == ["RowCount > 0", 'Mean "score" > 1'] and rows[1][EVALUATION_RESULT] == "Passed"


def test_a_condition_the_engine_does_not_know_is_an_error_naming_it(spark):
    with pytest.raises(EvaluationError) as raised:
        _values_condition(F.col("rating"), Expression("like", ("x",)))
    assert str(raised.value) == "unsupported condition 'like \"x\"'"


def test_in_with_keywords_only(on_rows):
    judged = pick(on_rows, ['ColumnValues "name" in [EMPTY]', 'ColumnValues "name" in [NULL]', 'ColumnValues "name" not in [EMPTY, NULL]'])
    assert judged['ColumnValues "name" in [EMPTY]'][1] == sorted([(1, "anna"), (2, None), (2, "bo")], key=str)
    assert judged['ColumnValues "name" in [NULL]'][1] == sorted([(1, "anna"), (2, "bo"), (None, "")], key=str)
    assert judged['ColumnValues "name" not in [EMPTY, NULL]'][1] == sorted([(2, None), (None, "")], key=str)


def test_metric_names_follow_glues_column_and_multicolumn_forms(spark):
    judged = evaluate_locally(
        spark.createDataFrame(ROWS, SCHEMA),
        'Rules = [ IsUnique "id" "name", Uniqueness "id" > 0.1, IsComplete "name", ColumnValues "rating" > 0, Completeness "score" > 0.1 ]',
    ).rule_outcomes
    assert [list(outcome.evaluated_metrics) for outcome in judged] == [
        ["Multicolumn.id,name.Uniqueness"],
        ["Column.id.Uniqueness"],
        ["Column.name.Completeness"],
        ["Column.rating.ColumnValues.Compliance"],
        ["Column.score.Completeness"],
    ]


def test_a_pattern_on_a_dataset_metric_is_an_error_naming_the_rule(spark):
    with pytest.raises(EvaluationError) as raised:
        evaluate(spark, 'RowCount matches "[0-9]+"')
    assert str(raised.value) == "rule 'RowCount matches \"[0-9]+\"': 'matches \"[0-9]+\"' cannot judge a number"
