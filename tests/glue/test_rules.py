"""Each supported rule type on small frames: NULLs, empty input and boundaries, as Glue documents them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pyspark.sql import functions as F

from gluescripts.etl.evaluate import EvaluationError, evaluate_locally
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


# Every rule the tests below judge on ROWS, evaluated together in one ruleset: one Spark evaluation
# instead of one per test, and a check that rules do not disturb each other.
RULES_ON_ROWS = (
    '(ColumnValues "rating" > 4) or (ColumnValues "score" < 1)',
    '(IsComplete "name") and (ColumnValues "rating" >= 3)',
    '(RowCount > 10) or (IsComplete "id")',
    '(RowCount > 3) and (ColumnCount = 4)',
    'ColumnCount = 4',
    'ColumnExists "rating"',
    'ColumnLength "name" < 3',
    'ColumnLength "name" >= 2',
    'ColumnValues "name" != EMPTY',
    'ColumnValues "name" != NULL',
    'ColumnValues "name" = EMPTY',
    'ColumnValues "name" = NULL',
    'ColumnValues "name" in ["anna", EMPTY]',
    'ColumnValues "name" in ["anna", empty, null]',
    'ColumnValues "name" matches "[a-z]+"',
    'ColumnValues "name" matches "nn"',
    'ColumnValues "name" not matches "[a-z]+"',
    'ColumnValues "rating" != 5',
    'ColumnValues "rating" = NULL OR ColumnValues "rating" >= 3',
    'ColumnValues "rating" = null',
    'ColumnValues "rating" > 1',
    'ColumnValues "rating" >= 1',
    'ColumnValues "rating" >= 3 where "id = 2"',
    'ColumnValues "rating" between 1 and 5',
    'ColumnValues "rating" in [1, 3, 5, NULL]',
    'ColumnValues "rating" in [1, 3, 5]',
    'ColumnValues "rating" in [1, 3, 5] with threshold > 0.75',
    'ColumnValues "rating" in [1, 3, 5] with threshold >= 0.75',
    'ColumnValues "rating" not in [1, NULL]',
    'ColumnValues "rating" not in [1]',
    'ColumnValues "score" <= 1.0',
    'ColumnValues rating >= 3',
    'Completeness "rating" = 0.5 where "id = 2"',
    'Completeness "rating" > 0.75',
    'Completeness "rating" >= 0.75',
    'IsComplete "name"',
    'IsComplete "name" where "rating > 1"',
    'IsPrimaryKey "id"',
    'IsUnique "id"',
    'IsUnique "id" "name"',
    'IsUnique "id" where "rating > 1"',
    'RowCount = 2 where "id = 2"',
    'RowCount = 4',
    'RowCount > 4',
    'RowCount >= 4',
    'RowCount between 2 and 4',
    'RowCount between 3 and 5',
    'RowCount between 4 and 5',
    'RowCount between 4 and 6',
    'RowCount not between 3 and 5',
    'RowCount not between 4 and 5',
    'RowCount not between 4 and 6',
    'Uniqueness "id" > 0.3',
    'Uniqueness "id" >= 0.5',
)


def _evaluate_all(spark, rule_texts, rows, schema) -> dict:
    results = evaluate_locally(spark.createDataFrame(rows, schema), "Rules = [ " + ", ".join(rule_texts) + " ]")
    rows_out = results.row_outcomes.collect()
    judged = {}
    for outcome in results.rule_outcomes:
        failing = [row for row in rows_out if outcome.rule in row[RULES_FAIL]]
        metric = next(iter(outcome.evaluated_metrics.values()), None)
        result = Result(outcome.outcome, metric, len(failing), outcome.failure_reason, outcome.level)
        judged[outcome.rule] = (result, sorted(((row["id"], row["name"]) for row in failing), key=str))
    return judged


_judged_on_rows: dict = {}


def evaluate(spark, rule_text: str, rows=ROWS, schema: str = SCHEMA):
    """The rule's outcome, and the (id, name) of every row whose DataQualityRulesFail names it."""
    if rows is ROWS and rule_text in RULES_ON_ROWS:
        if not _judged_on_rows:
            _judged_on_rows.update(_evaluate_all(spark, RULES_ON_ROWS, ROWS, SCHEMA))
        return _judged_on_rows[rule_text]
    return _evaluate_all(spark, [rule_text], rows, schema)[rule_text]


def test_row_count_boundaries(spark):
    assert evaluate(spark, "RowCount = 4")[0].outcome == "Passed"
    assert evaluate(spark, "RowCount > 4")[0].outcome == "Failed"
    assert evaluate(spark, "RowCount >= 4")[0].outcome == "Passed"
    assert evaluate(spark, "RowCount > 0", rows=[])[0].metric == 0


def test_between_is_exclusive(spark):
    assert evaluate(spark, "RowCount between 3 and 5")[0].outcome == "Passed"
    assert evaluate(spark, "RowCount between 4 and 5")[0].outcome == "Failed"
    assert evaluate(spark, "RowCount not between 4 and 5")[0].outcome == "Passed"


def test_column_count_and_exists(spark):
    assert evaluate(spark, "ColumnCount = 4")[0].metric == 4
    assert evaluate(spark, 'ColumnExists "rating"')[0].outcome == "Passed"
    missing = evaluate(spark, 'ColumnExists "price"')[0]
    assert (missing.outcome, missing.reason) == ("Failed", "column is absent")


def test_is_complete_flags_null_rows_only(spark):
    result, flagged = evaluate(spark, 'IsComplete "name"')
    assert (result.outcome, result.level, result.failed_rows, result.metric) == ("Failed", "row", 1, 0.75)
    assert flagged == [(2, None)]  # the empty string is a value, not a missing one


def test_is_complete_on_empty_input_passes(spark):
    result, _ = evaluate(spark, 'IsComplete "name"', rows=[])
    assert (result.outcome, result.failed_rows) == ("Passed", 0)


def test_completeness_ratio_and_boundary(spark):
    result, flagged = evaluate(spark, 'Completeness "rating" >= 0.75')
    assert (result.outcome, result.metric, result.level) == ("Passed", 0.75, "dataset")
    # Listed as failed for the NULL row, as Glue does; a dataset-level rule still quarantines nothing.
    assert flagged == [(2, "bo")]
    assert evaluate(spark, 'Completeness "rating" > 0.75')[0].outcome == "Failed"


def test_completeness_on_empty_input_fails_with_reason(spark):
    result, _ = evaluate(spark, 'Completeness "rating" > 0.5', rows=[])
    assert (result.outcome, result.reason) == ("Failed", "no values to measure")


def test_is_unique_flags_every_duplicate_and_ignores_nulls(spark):
    result, flagged = evaluate(spark, 'IsUnique "id"')
    assert (result.outcome, result.failed_rows) == ("Failed", 2)
    assert flagged == sorted([(2, None), (2, "bo")], key=str)


def test_is_unique_over_several_columns(spark):
    result, flagged = evaluate(spark, 'IsUnique "id" "name"')
    assert (result.outcome, flagged) == ("Passed", [])


def test_is_primary_key_also_fails_nulls(spark):
    result, flagged = evaluate(spark, 'IsPrimaryKey "id"')
    assert result.failed_rows == 3
    assert flagged == sorted([(2, None), (2, "bo"), (None, "")], key=str)


def test_uniqueness_is_values_seen_once_over_non_null_rows(spark):
    result, flagged = evaluate(spark, 'Uniqueness "id" > 0.3')
    assert (result.outcome, result.metric, result.level) == ("Passed", 1 / 3, "dataset")
    assert flagged == sorted([(2, None), (2, "bo")], key=str)
    assert evaluate(spark, 'Uniqueness "id" >= 0.5')[0].outcome == "Failed"


@pytest.mark.parametrize(
    ("rule", "failing"),
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
    ],
)
def test_column_values_semantics(spark, rule, failing):
    result, flagged = evaluate(spark, rule)
    assert flagged == sorted(failing, key=str)
    assert result.failed_rows == len(failing)
    assert result.outcome == ("Passed" if not failing else "Failed")


def test_whitespace_only_keyword(spark):
    rows = [(1, "  ", 1, 1.0), (2, "", 1, 1.0), (3, "x", 1, 1.0)]
    _, flagged = evaluate(spark, 'ColumnValues "name" in ["x", WHITESPACES_ONLY]', rows=rows)
    assert flagged == [(2, "")]


def test_with_threshold_judges_the_share_and_keeps_the_rows(spark):
    result, flagged = evaluate(spark, 'ColumnValues "rating" in [1, 3, 5] with threshold >= 0.75')
    assert (result.outcome, result.metric, result.failed_rows, result.level) == ("Passed", 0.75, 1, "dataset")
    assert flagged == [(2, "bo")]
    assert evaluate(spark, 'ColumnValues "rating" in [1, 3, 5] with threshold > 0.75')[0].outcome == "Failed"


def test_column_length_counts_null_as_zero(spark):
    result, flagged = evaluate(spark, 'ColumnLength "name" >= 2')
    assert flagged == [(2, None), (None, "")]
    _, flagged = evaluate(spark, 'ColumnLength "name" < 3')
    assert flagged == [(1, "anna")]


def test_rule_on_unknown_column_is_an_error(spark):
    with pytest.raises(EvaluationError, match="rule 'IsComplete \"price\"' refers to unknown column"):
        evaluate(spark, 'IsComplete "price"')


def test_is_unique_treats_rows_with_the_same_partial_nulls_as_duplicates(spark):
    rows = [(1, None, 1, 1.0), (1, None, 2, 1.0), (2, None, 3, 1.0), (None, None, 4, 1.0), (None, None, 5, 1.0)]
    result, flagged = evaluate(spark, 'IsUnique "id" "name"', rows=rows)
    assert flagged == [(1, None), (1, None)]  # all-NULL keys are ignored, partly NULL keys compared
    assert result.failed_rows == 2


def test_the_data_is_scanned_once_for_the_whole_ruleset(spark):
    """Every metric, uniqueness included, comes from one pass: each row is produced exactly once."""
    produced = spark.sparkContext.accumulator(0)

    def probe(value):
        produced.add(1)
        return value

    frame = spark.createDataFrame(ROWS, SCHEMA).withColumn("probe", F.udf(probe, "double")("score"))
    results = evaluate_locally(
        frame,
        'Rules = [ RowCount > 0, IsComplete "name", Completeness "rating" > 0.5, IsPrimaryKey "id", '
        'Uniqueness "id" > 0.1, ColumnValues "rating" >= 1, ColumnLength "name" < 10, ColumnValues "probe" >= 0 ]',
    )
    assert produced.value == len(ROWS)
    outcomes = [r.outcome for r in results.rule_outcomes]
    assert outcomes == ["Passed", "Failed", "Passed", "Failed", "Passed", "Failed", "Passed", "Failed"]


@pytest.mark.parametrize(
    ("rule", "failing"),
    [
        ('ColumnValues "name" = NULL', [(1, "anna"), (2, "bo"), (None, "")]),
        ('ColumnValues "name" != NULL', [(2, None)]),
        ('ColumnValues "name" = EMPTY', [(1, "anna"), (2, None), (2, "bo")]),
        ('ColumnValues "name" != EMPTY', [(None, "")]),  # NULL is not empty
        ('ColumnValues "rating" = null', [(1, "anna"), (2, None), (None, "")]),  # keywords in either case
        ('ColumnValues "name" in ["anna", empty, null]', [(2, "bo")]),
        ("ColumnValues rating >= 3", [(2, None), (2, "bo")]),  # a bare column name
        ('ColumnValues "name" not matches "[a-z]+"', [(1, "anna"), (2, "bo"), (2, None)]),  # NULL fails it too
    ],
)
def test_keyword_comparisons_and_bare_column_names(spark, rule, failing):
    result, flagged = evaluate(spark, rule)
    assert flagged == sorted(failing, key=str)
    assert result.outcome == ("Passed" if not failing else "Failed")


def test_ratios_are_compared_unrounded(spark):
    rows = [(1, "a", 1, 1.0), (2, "b", 1, 1.0), (3, None, 1, 1.0)]
    assert evaluate(spark, 'Completeness "name" >= 0.6666667', rows=rows)[0].outcome == "Failed"
    assert evaluate(spark, 'Completeness "name" >= 0.6666666', rows=rows)[0].outcome == "Passed"
    assert evaluate(spark, 'ColumnValues "name" in ["a", "b"] with threshold >= 0.6666667', rows=rows)[0].outcome == "Failed"


def test_dataset_between_excludes_both_bounds(spark):
    assert evaluate(spark, "RowCount between 4 and 6")[0].outcome == "Failed"
    assert evaluate(spark, "RowCount between 2 and 4")[0].outcome == "Failed"
    assert evaluate(spark, "RowCount not between 4 and 6")[0].outcome == "Passed"
    assert evaluate(spark, "RowCount not between 3 and 5")[0].outcome == "Failed"


def test_composite_and_fails_rows_failing_either_part(spark):
    result, flagged = evaluate(spark, '(IsComplete "name") and (ColumnValues "rating" >= 3)')
    assert flagged == sorted([(2, None), (2, "bo")], key=str)
    assert (result.outcome, result.level) == ("Failed", "row")


def test_composite_or_fails_rows_failing_both_parts(spark):
    result, flagged = evaluate(spark, '(ColumnValues "rating" > 4) or (ColumnValues "score" < 1)')
    assert flagged == sorted([(2, None), (2, "bo"), (None, "")], key=str)
    _, flagged = evaluate(spark, 'ColumnValues "rating" = NULL OR ColumnValues "rating" >= 3')
    assert flagged == [(2, None)]  # the documented way to let NULLs through, parentheses optional


def test_composite_with_a_dataset_rule_judges_the_batch_only(spark):
    result, flagged = evaluate(spark, "(RowCount > 10) or (IsComplete \"id\")")
    assert (result.outcome, result.level, flagged) == ("Failed", "dataset", [])
    assert evaluate(spark, "(RowCount > 3) and (ColumnCount = 4)")[0].outcome == "Passed"


def test_where_filters_the_rows_a_rule_judges(spark):
    result, flagged = evaluate(spark, 'IsComplete "name" where "rating > 1"')
    assert (result.outcome, flagged) == ("Passed", [])  # the NULL name has rating 1: outside the filter
    result, flagged = evaluate(spark, 'ColumnValues "rating" >= 3 where "id = 2"')
    assert flagged == sorted([(2, None), (2, "bo")], key=str)
    assert evaluate(spark, 'RowCount = 2 where "id = 2"')[0].outcome == "Passed"
    assert evaluate(spark, 'Completeness "rating" = 0.5 where "id = 2"')[0].outcome == "Passed"
    result, flagged = evaluate(spark, 'IsUnique "id" where "rating > 1"')
    assert (result.outcome, flagged) == ("Passed", [])


def test_a_bad_where_filter_names_its_rule(spark):
    with pytest.raises(EvaluationError, match="rule 'IsComplete \"name\" where \"nope > 1\"': where \"nope > 1\" is not a valid condition"):
        evaluate(spark, 'IsComplete "name" where "nope > 1"')


@pytest.mark.parametrize(
    "rule",
    [
        "RowCount > avg(last(3))",
        'Mean "rating" > 3',
        'CustomSql "select count(*) from primary" > 0',
        'DetectAnomalies "RowCount"',
        'ColumnValues "rating" > (now() - 3 days)',
        'ReferentialIntegrity "id" "reference.id" = 1.0',
    ],
)
def test_rules_the_local_engine_cannot_evaluate_are_reported_never_passed(spark, rule):
    result, flagged = evaluate(spark, rule)
    assert result.outcome == "NotEvaluatedLocally"
    assert result.reason.startswith("not evaluated locally: ")
    assert flagged == []


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
