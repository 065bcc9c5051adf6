"""Each supported rule type on small frames: NULLs, empty input and boundaries, as Glue documents them."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from gluescripts.etl.dqdl import parse_ruleset
from gluescripts.etl.evaluate import FAILED_RULES, EvaluationError, RuleEvaluation

SCHEMA = "id int, name string, rating int, score double"
ROWS = [
    (1, "anna", 5, 0.5),
    (2, None, 1, 1.0),
    (2, "bo", None, 2.5),
    (None, "", 3, None),
]


def evaluate(spark, rule_text: str, rows=ROWS, schema: str = SCHEMA):
    frame = spark.createDataFrame(rows, schema)
    columns = tuple(field.name for field in frame.schema.fields)
    evaluation = RuleEvaluation(frame, parse_ruleset(f"Rules = [ {rule_text} ]"), columns)
    measurement = evaluation.measure()
    (result,) = evaluation.results(measurement.metrics)
    flagged = evaluation.flagged(measurement).collect()
    evaluation.release()
    return result, sorted(((row["id"], row["name"]) for row in flagged if row[FAILED_RULES]), key=str)


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
    assert flagged == []  # a ratio rule never quarantines rows
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
    assert (result.outcome, result.metric) == ("Passed", pytest.approx(1 / 3, abs=1e-6))
    assert flagged == []
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
    assert flagged == []
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


def test_malformed_rows_are_neither_counted_nor_flagged(spark):
    frame = spark.createDataFrame(ROWS + [(None, None, None, None)], SCHEMA)
    frame = frame.withColumn("bad", F.col("id").isNull() & F.col("rating").isNull())
    evaluation = RuleEvaluation(frame, parse_ruleset('Rules = [ RowCount = 4, IsComplete "name" ]'), ("id", "name", "rating", "score"), well_formed=~F.col("bad"))
    measurement = evaluation.measure()
    assert (measurement.metrics["__rows"], measurement.metrics["__malformed"]) == (4, 1)
    assert [r.outcome for r in evaluation.results(measurement.metrics)] == ["Passed", "Failed"]
    assert sum(bool(row[FAILED_RULES]) for row in evaluation.flagged(measurement).collect()) == 1


def test_the_data_is_scanned_once_for_the_whole_ruleset(spark):
    """Every metric, uniqueness included, comes from one pass: each row is produced exactly once."""
    produced = spark.sparkContext.accumulator(0)

    def probe(value):
        produced.add(1)
        return value

    frame = spark.createDataFrame(ROWS, SCHEMA).withColumn("probe", F.udf(probe, "double")("score"))
    rules = parse_ruleset(
        'Rules = [ RowCount > 0, IsComplete "name", Completeness "rating" > 0.5, IsPrimaryKey "id", '
        'Uniqueness "id" > 0.1, ColumnValues "rating" >= 1, ColumnLength "name" < 10, ColumnValues "probe" >= 0 ]'
    )
    evaluation = RuleEvaluation(frame, rules, ("id", "name", "rating", "score", "probe"))
    measurement = evaluation.measure()
    evaluation.release()
    assert produced.value == len(ROWS)
    outcomes = [r.outcome for r in evaluation.results(measurement.metrics)]
    assert outcomes == ["Passed", "Failed", "Passed", "Failed", "Passed", "Failed", "Passed", "Failed"]
