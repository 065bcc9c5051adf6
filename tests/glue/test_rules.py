"""Every DQDL rule type AWS's engine evaluates here, through the job's seam, on small frames: NULLs,
empty input and boundaries. Where deequ departs from Glue's documentation (AWS Glue Developer Guide,
"DQDL rule type reference"), the test says so and pins deequ's behaviour: locally the job decides
as deequ does, and README "What runs where" lists each departure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from gluescripts.etl.dqdl import rule_level
from gluescripts.etl.evaluate import EvaluationError, evaluate_locally, rules_as_printed
from gluescripts.etl.quality import EVALUATION_RESULT, ROW, ROW_OUTCOME_COLUMNS, RULES_FAIL, RULES_PASS, RULES_SKIP

SCHEMA = "id int, name string, rating int, score double"
ROWS = [
    (1, "anna", 5, 0.5),
    (2, None, 1, 1.0),
    (2, "bo", None, 2.5),
    (None, "", 3, None),
]
# Glue's additional data source for the rules that compare data sets, by its alias.
REFERENCE_ROWS = [(1, "anna", 5, 0.5), (2, "x", 1, 1.0)]


@dataclass(frozen=True)
class Result:
    outcome: str
    metric: float | None
    failed_rows: int
    reason: str | None
    level: str
    listed_per_row: bool  # named in some row's DataQualityRulesPass or DataQualityRulesFail


def judge(spark, rule_texts, rows=ROWS, schema: str = SCHEMA, reference_data=None) -> dict:
    """Per rule as written: its outcome, and the (id, name) of every row whose DataQualityRulesFail names it."""
    ruleset = "Rules = [ " + ", ".join(rule_texts) + " ]"
    results = evaluate_locally(spark.createDataFrame(rows, schema), ruleset, reference_data)
    printed = dict(zip(rule_texts, rules_as_printed(spark, ruleset)))
    rows_out = results.row_outcomes.collect()
    by_rule = {outcome.rule: outcome for outcome in results.rule_outcomes}
    judged = {}
    for written in rule_texts:
        outcome = by_rule[printed[written]]
        failing = [row for row in rows_out if outcome.rule in row[RULES_FAIL]]
        listed = any(outcome.rule in row[RULES_PASS] + row[RULES_FAIL] for row in rows_out)
        metric = next(iter(outcome.evaluated_metrics.values()), None)
        result = Result(outcome.outcome, metric, len(failing), outcome.failure_reason, outcome.level, listed)
        judged[written] = (result, sorted(((row["id"], row["name"]) for row in failing), key=str))
    return judged


def evaluate(spark, rule_text: str, rows=ROWS, schema: str = SCHEMA):
    """One rule's outcome and the rows it flags."""
    return judge(spark, [rule_text], rows, schema)[rule_text]


def outcomes(spark, rule_texts, rows=ROWS) -> dict[str, str]:
    return {rule: result.outcome for rule, (result, _) in judge(spark, rule_texts, rows).items()}


# Every rule the tests below judge on ROWS, evaluated together once per module: one evaluation
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
    'ColumnValues "rating" in [1, 3, 5] with threshold > 0.5',
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
    'ColumnValues "name" in [EMPTY]',
    'ColumnValues "name" in [NULL]',
    'ColumnValues "name" not in [EMPTY, NULL]',
    # Rule types the project's old evaluator left to Glue.
    'Mean "rating" > 3',
    'Mean "rating" >= 3',
    'Sum "score" = 4.0',
    'StandardDeviation "rating" between 1.63 and 1.64',
    'DistinctValuesCount "id" = 3',
    'Entropy "name" between 1.098 and 1.099',
    'UniqueValueRatio "id" = 0.5',
    'ColumnCorrelation "rating" "score" = -1.0',
    'CustomSql "select count(*) from primary" = 4',
    'CustomSql "select id from primary where rating >= 3"',
    'ColumnNamesMatchPattern "[a-z]+"',
    'RowCountMatch "reference" = 2.0',
    'ReferentialIntegrity "id" "reference.id" = 0.75',
    'SchemaMatch "reference" = 1.0',
    'AggregateMatch "sum(score)" "sum(reference.score)" > 2.6',
    'DatasetMatch "reference" "id" >= 0.5',
    # Rules the engine does not run here.
    'RowCount > avg(last(3))',
    'DetectAnomalies "RowCount"',
    'FileFreshness "s3://bucket/raw/" > (now() - 3 days)',
    'ColumnDataType "name" = "STRING"',
)


@pytest.fixture(scope="module")
def on_rows(spark) -> dict:
    return judge(spark, ON_ROWS, reference_data={"reference": spark.createDataFrame(REFERENCE_ROWS, SCHEMA)})


def pick(judged: dict, rule_texts) -> dict:
    return {rule: judged[rule] for rule in rule_texts}


def outcomes_in(judged: dict, rule_texts) -> dict[str, str]:
    return {rule: judged[rule][0].outcome for rule in rule_texts}


def test_row_count_boundaries(spark, on_rows):
    assert outcomes_in(on_rows, ["RowCount = 4", "RowCount > 4", "RowCount >= 4", "RowCount < 4", "RowCount <= 4"]) == {
        "RowCount = 4": "Passed", "RowCount > 4": "Failed", "RowCount >= 4": "Passed",
        "RowCount < 4": "Failed", "RowCount <= 4": "Passed",
    }
    assert on_rows["RowCount = 4"][0].metric == 4


def test_between_is_exclusive(on_rows):
    assert outcomes_in(on_rows, ["RowCount between 3 and 5", "RowCount between 4 and 5", "RowCount not between 4 and 5"]) == {
        "RowCount between 3 and 5": "Passed", "RowCount between 4 and 5": "Failed", "RowCount not between 4 and 5": "Passed",
    }


def test_dataset_between_excludes_both_bounds(on_rows):
    rules = ["RowCount between 4 and 6", "RowCount between 2 and 4", "RowCount not between 4 and 6", "RowCount not between 3 and 5"]
    assert outcomes_in(on_rows, rules) == dict(zip(rules, ["Failed", "Failed", "Passed", "Failed"]))


def test_column_count_and_exists(on_rows):
    judged = pick(on_rows, ["ColumnCount = 4", 'ColumnExists "rating"', 'ColumnExists "price"'])
    assert judged["ColumnCount = 4"][0].metric == 4
    assert judged['ColumnExists "rating"'][0].outcome == "Passed"
    missing = judged['ColumnExists "price"'][0]
    assert (missing.outcome, missing.metric) == ("Failed", 0)


def test_is_complete_flags_null_rows_only(on_rows):
    result, flagged = on_rows['IsComplete "name"']
    assert (result.outcome, result.level, result.failed_rows, result.metric) == ("Failed", "row", 1, 0.75)
    assert flagged == [(2, None)]  # the empty string is a value, not a missing one


def test_on_empty_input_a_ratio_rule_fails_for_want_of_values(spark):
    # Glue's documentation does not say; deequ has no ratio to compare, so the rule fails. The job
    # skips a run with no new lines (job.py); a batch of malformed lines only is evaluated empty, and a
    # failed IsComplete there quarantines nothing (no rows), while Completeness fails the batch.
    judged = judge(spark, ['IsComplete "name"', 'Completeness "rating" > 0.5', "RowCount > 0", "RowCount = 0"], rows=[])
    assert {rule: result.outcome for rule, (result, _) in judged.items()} == {
        'IsComplete "name"': "Failed", 'Completeness "rating" > 0.5': "Failed", "RowCount > 0": "Failed", "RowCount = 0": "Passed",
    }


def test_completeness_ratio_and_boundary(on_rows):
    judged = pick(on_rows, ['Completeness "rating" >= 0.75', 'Completeness "rating" > 0.75'])
    result, flagged = judged['Completeness "rating" >= 0.75']
    assert (result.outcome, result.metric, result.level) == ("Passed", 0.75, "dataset")
    # Listed as failed for the NULL row, as Glue does; a dataset-level rule still quarantines nothing.
    assert flagged == [(2, "bo")]
    assert judged['Completeness "rating" > 0.75'][0].outcome == "Failed"


def test_is_unique_flags_every_duplicate_and_ignores_nulls(on_rows):
    result, flagged = on_rows['IsUnique "id"']
    assert (result.outcome, result.failed_rows) == ("Failed", 2)
    assert flagged == sorted([(2, None), (2, "bo")], key=str)


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


# DEPARTS from Glue's documentation, which fails NULL for every ColumnValues condition but `!=`,
# `not in` and a NULL that is listed: deequ's EMPTY and WHITESPACES_ONLY tests let NULL pass.
EMPTY_KEYWORD_LETS_NULL_PASS = dict(
    [
        ('ColumnValues "name" in ["anna", EMPTY]', [(2, "bo")]),  # Glue: (2, None) too
        ('ColumnValues "name" = EMPTY', [(1, "anna"), (2, "bo")]),  # Glue: (2, None) too
        ('ColumnValues "name" in [EMPTY]', [(1, "anna"), (2, "bo")]),  # Glue: (2, None) too
    ]
)


def test_the_empty_keyword_lets_null_pass(on_rows):
    judged = pick(on_rows, list(EMPTY_KEYWORD_LETS_NULL_PASS))
    assert {rule: flagged for rule, (_, flagged) in judged.items()} == EMPTY_KEYWORD_LETS_NULL_PASS


def test_whitespace_only_keyword(spark):
    rows = [(1, "  ", 1, 1.0), (2, "", 1, 1.0), (3, "x", 1, 1.0), (4, None, 1, 1.0)]
    _, flagged = evaluate(spark, 'ColumnValues "name" in ["x", WHITESPACES_ONLY]', rows=rows)
    assert flagged == [(2, "")]  # DEPARTS as EMPTY does: Glue flags the NULL row (4) too


def test_with_threshold_on_a_value_condition_fails_whatever_the_share(on_rows):
    # DEPARTS from Glue's documentation ("ColumnValues ... with threshold"): 3 of 4 rows pass, so Glue
    # passes both; deequ applies `with threshold` to date conditions only and fails these. A
    # threshold rule judges the batch, so locally such a batch fails rather than quarantining rows.
    at_least, above = (
        'ColumnValues "rating" in [1, 3, 5] with threshold >= 0.75',
        'ColumnValues "rating" in [1, 3, 5] with threshold > 0.5',
    )
    judged = pick(on_rows, [at_least, above])
    result, flagged = judged[at_least]
    assert (result.outcome, result.metric, result.level) == ("Failed", 0.75, "dataset")
    assert flagged == [(2, "bo")]
    assert judged[above][0].outcome == "Failed"


def test_column_length_skips_nulls(on_rows):
    # DEPARTS from Glue's documentation, which counts a NULL as length 0: deequ skips NULL rows.
    judged = pick(on_rows, ['ColumnLength "name" >= 2', 'ColumnLength "name" < 3'])
    assert judged['ColumnLength "name" >= 2'][1] == [(None, "")]  # Glue: (2, None) too
    assert judged['ColumnLength "name" < 3'][1] == [(1, "anna")]


KEYWORD_COMPARISONS = dict(
    [
        ('ColumnValues "name" = NULL', [(1, "anna"), (2, "bo"), (None, "")]),
        ('ColumnValues "name" != NULL', [(2, None)]),
        ('ColumnValues "name" != EMPTY', [(None, "")]),  # NULL is not empty
        ('ColumnValues "rating" = null', [(1, "anna"), (2, None), (None, "")]),  # keywords in either case
        ('ColumnValues "name" in ["anna", empty, null]', [(2, "bo")]),
        ("ColumnValues rating >= 3", [(2, None), (2, "bo")]),  # a bare column name
        ('ColumnValues "name" in [NULL]', [(1, "anna"), (2, "bo"), (None, "")]),
        ('ColumnValues "name" not in [EMPTY, NULL]', [(2, None), (None, "")]),
    ]
)


def test_keyword_comparisons_and_bare_column_names(on_rows):
    judged = pick(on_rows, list(KEYWORD_COMPARISONS))
    for rule, failing in KEYWORD_COMPARISONS.items():
        result, flagged = judged[rule]
        assert flagged == sorted(failing, key=str), rule
        assert result.outcome == ("Passed" if not failing else "Failed"), rule


def test_not_matches_fails_the_empty_string(on_rows):
    # DEPARTS from Glue's documentation: "" does not match [a-z]+, so `not matches` should pass it.
    _, flagged = on_rows['ColumnValues "name" not matches "[a-z]+"']
    assert flagged == sorted([(1, "anna"), (2, "bo"), (2, None), (None, "")], key=str)


def test_ratios_are_compared_unrounded(spark):
    rows = [(1, "a", 1, 1.0), (2, "b", 1, 1.0), (3, None, 1, 1.0)]
    rules = ['Completeness "name" >= 0.6666667', 'Completeness "name" >= 0.6666666']
    assert outcomes(spark, rules, rows) == dict(zip(rules, ["Failed", "Passed"]))


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


def test_an_or_of_row_rules_that_every_row_passes_quarantines_nothing(spark):
    # Glue runs the job with compositeRuleEvaluation.method=ROW: a composite is judged row by row.
    # Deequ judges a composite's outcome from its parts' outcomes (here both fail), but its row
    # results are row by row, and routing reads only the row results of a row rule: the same rows
    # stay, locally and on Glue; only the reported outcome differs.
    rows = [(1, "a", 5, 9.0), (2, "b", 1, 0.5)]
    result, flagged = evaluate(spark, '(ColumnValues "rating" > 4) or (ColumnValues "score" < 1)', rows=rows)
    assert (result.level, flagged, result.outcome) == ("row", [], "Failed")


def test_composite_with_a_dataset_rule_judges_the_batch_only(on_rows):
    judged = pick(on_rows, ['(RowCount > 10) or (IsComplete "id")', "(RowCount > 3) and (ColumnCount = 4)"])
    result, _ = judged['(RowCount > 10) or (IsComplete "id")']
    assert (result.outcome, result.level) == ("Failed", "dataset")
    assert judged["(RowCount > 3) and (ColumnCount = 4)"][0].outcome == "Passed"


def test_where_filters_the_rows_a_rule_judges(on_rows):
    judged = pick(on_rows,
        [
            'IsComplete "name" where "rating > 1"',
            'ColumnValues "rating" >= 3 where "id = 2"',
            'RowCount = 2 where "id = 2"',
            'Completeness "rating" = 0.5 where "id = 2"',
        ],
    )
    result, flagged = judged['IsComplete "name" where "rating > 1"']
    assert (result.outcome, flagged) == ("Passed", [])  # the NULL name has rating 1: outside the filter
    assert judged['ColumnValues "rating" >= 3 where "id = 2"'][1] == sorted([(2, None), (2, "bo")], key=str)
    assert judged['RowCount = 2 where "id = 2"'][0].outcome == "Passed"
    assert judged['Completeness "rating" = 0.5 where "id = 2"'][0].outcome == "Passed"


def test_is_unique_with_where_flags_a_row_outside_its_filter(on_rows):
    # DEPARTS from Glue's documentation: within the filter (rating > 1: ids 1 and NULL) every key is
    # unique and the rule passes, yet deequ's row results compare all rows, flagging (2, "bo").
    result, flagged = on_rows['IsUnique "id" where "rating > 1"']
    assert (result.outcome, flagged) == ("Passed", [(2, "bo")])


def test_aggregate_rules_ignore_nulls_at_their_boundaries(on_rows):
    judged = pick(on_rows, [
        'Mean "rating" > 3', 'Mean "rating" >= 3', 'Sum "score" = 4.0', 'StandardDeviation "rating" between 1.63 and 1.64',
        'Entropy "name" between 1.098 and 1.099', 'ColumnCorrelation "rating" "score" = -1.0',
    ])
    assert {rule: (result.outcome, round(result.metric, 4)) for rule, (result, _) in judged.items()} == {
        'Mean "rating" > 3': ("Failed", 3.0),  # (5 + 1 + 3) / 3: the NULL rating is not a value
        'Mean "rating" >= 3': ("Passed", 3.0),
        'Sum "score" = 4.0': ("Passed", 4.0),
        'StandardDeviation "rating" between 1.63 and 1.64': ("Passed", 1.633),  # the population's
        'Entropy "name" between 1.098 and 1.099': ("Passed", 1.0986),  # ln 3: "anna", "bo", ""
        'ColumnCorrelation "rating" "score" = -1.0': ("Passed", -1.0),  # rows with both values
    }
    assert not any(result.listed_per_row for result, _ in judged.values())


def test_distinct_values_count_counts_null_as_a_value(on_rows):
    # Glue's documentation does not say; deequ counts 1, 2 and NULL.
    assert (on_rows['DistinctValuesCount "id" = 3'][0].outcome, on_rows['DistinctValuesCount "id" = 3'][0].metric) == ("Passed", 3)


def test_unique_value_ratio_and_column_names(on_rows):
    ratio, flagged = on_rows['UniqueValueRatio "id" = 0.5']
    assert (ratio.outcome, ratio.metric, ratio.level) == ("Passed", 0.5, "dataset")  # 1 of the 2 distinct ids is seen once
    assert flagged == sorted([(2, None), (2, "bo")], key=str)
    assert on_rows['ColumnNamesMatchPattern "[a-z]+"'][0].outcome == "Passed"


def test_custom_sql_reads_the_batch_as_primary(on_rows):
    count, _ = on_rows['CustomSql "select count(*) from primary" = 4']
    assert (count.outcome, count.metric) == ("Passed", 4)
    rows, flagged = on_rows['CustomSql "select id from primary where rating >= 3"']
    # The statement returns the keys of passing rows: half of them pass (ids 1 and NULL).
    assert (rows.outcome, rows.metric, rows.level) == ("Failed", 0.5, "dataset")
    assert flagged == sorted([(2, None), (2, "bo")], key=str)


def test_rules_over_another_data_set_read_it_by_its_alias(on_rows):
    judged = pick(on_rows, [
        'RowCountMatch "reference" = 2.0', 'ReferentialIntegrity "id" "reference.id" = 0.75', 'SchemaMatch "reference" = 1.0',
        'AggregateMatch "sum(score)" "sum(reference.score)" > 2.6',
    ])
    assert {rule: (result.outcome, round(result.metric, 4)) for rule, (result, _) in judged.items()} == {
        'RowCountMatch "reference" = 2.0': ("Passed", 2.0),  # 4 rows against 2
        'ReferentialIntegrity "id" "reference.id" = 0.75': ("Passed", 0.75),  # the NULL id has no match
        'SchemaMatch "reference" = 1.0': ("Passed", 1.0),
        'AggregateMatch "sum(score)" "sum(reference.score)" > 2.6': ("Passed", 2.6667),  # 4.0 against 1.5
    }
    dataset_match = on_rows['DatasetMatch "reference" "id" >= 0.5'][0]
    assert (dataset_match.outcome, dataset_match.reason.split(".")[0]) == (
        "Failed", "The selected columns are not comparable due to duplicates present in the dataset"
    )


def test_data_freshness_and_column_data_type_count_null_as_failing(spark):
    # Glue's documentation does not say how NULL counts; deequ counts it among the failing rows.
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    rows = [("1", now - timedelta(minutes=10)), ("x", now - timedelta(hours=5)), (None, None), ("3", now - timedelta(minutes=50))]
    ruleset = 'Rules = [ DataFreshness "at" <= 1 hours, DataFreshness "at" <= 6 hours, ColumnDataType "code" = "INTEGER" ]'
    results = evaluate_locally(spark.createDataFrame(rows, "code string, at timestamp"), ruleset)
    assert [(o.outcome, next(iter(o.evaluated_metrics.values()))) for o in results.rule_outcomes] == [
        ("Failed", 0.5),  # two of four within the hour
        ("Failed", 0.75),  # the NULL is not fresh, so even six hours fail
        ("Failed", 0.5),  # "1" and "3" are integers; "x" and NULL are not
    ]
    assert all(row[RULES_FAIL] == [] for row in results.row_outcomes.collect())  # none has row results


UNSUPPORTED_LOCALLY = (
    "RowCount > avg(last(3))",  # a dynamic rule: it needs the metrics of earlier runs
    'DetectAnomalies "RowCount"',
    'FileFreshness "s3://bucket/raw/" > (now() - 3 days)',
    'ColumnDataType "name" = "STRING"',  # deequ 2.1.0 recognises no STRING type
)


def test_rules_the_local_engine_cannot_evaluate_are_reported_never_passed(on_rows):
    judged = pick(on_rows, UNSUPPORTED_LOCALLY)
    for rule in UNSUPPORTED_LOCALLY:
        result, flagged = judged[rule]
        assert result.outcome == "NotEvaluatedLocally", rule
        assert result.reason.startswith("not evaluated locally: "), rule
        assert flagged == [], rule


def test_a_rule_over_a_data_set_not_given_is_not_evaluated(spark):
    judged = judge(spark, ['RowCountMatch "elsewhere" = 1.0', 'ReferentialIntegrity "id" "elsewhere.id" = 1.0'])
    assert {rule: (result.outcome, result.reason) for rule, (result, _) in judged.items()} == {
        'RowCountMatch "elsewhere" = 1.0':
            ("NotEvaluatedLocally", "not evaluated locally: Reference dataset 'elsewhere' not found in additional data sources"),
        'ReferentialIntegrity "id" "elsewhere.id" = 1.0':
            ("NotEvaluatedLocally", "not evaluated locally: elsewhere not found in additional sources"),
    }


@pytest.mark.parametrize("rule_type", ["ZerosCount", "Variance", "DuplicateRowCount", "Range", "InterquartileRange", "Skewness", "Kurtosis"])
def test_rule_types_newer_than_the_served_parser_refuse_the_ruleset(spark, rule_type):
    # dqdl 1.0.0 (the newest served here) predates them; deequ 2.1.0 has converters for them.
    with pytest.raises(EvaluationError, match=f"^AWS's DQDL engine refuses the ruleset: Parsing Error: Rule Type: {rule_type} is not valid$"):
        evaluate(spark, f'{rule_type} "rating" > 0' if rule_type != "DuplicateRowCount" else "DuplicateRowCount = 0")


def test_is_unique_over_several_columns_is_refused_by_the_served_parser(spark):
    # DEPARTS from Glue's documentation ("IsUnique": IsUnique "vendorid" "tpep_pickup_datetime").
    with pytest.raises(EvaluationError, match=r"Parsing Error: Rule Type: IsUnique is not valid"):
        evaluate(spark, 'IsUnique "id" "name"')


def test_rule_on_unknown_column_is_an_error(spark):
    with pytest.raises(EvaluationError, match="^rule 'IsComplete \"price\"': Input data does not include column price!$"):
        evaluate(spark, 'IsComplete "price"')


def test_a_bad_where_filter_names_its_rule(spark):
    with pytest.raises(EvaluationError, match="^rule 'IsComplete \"name\" where \"nope > 1\"': org.apache.spark.sql.AnalysisException: .*`nope`"):
        evaluate(spark, 'IsComplete "name" where "nope > 1"')


def test_a_pattern_on_a_dataset_metric_is_refused_naming_the_rule_type(spark):
    with pytest.raises(EvaluationError, match="^AWS's DQDL engine refuses the ruleset: Parsing Error: .*RowCount"):
        evaluate(spark, 'RowCount matches "[0-9]+"')


def test_row_outcomes_follow_glues_shape_and_the_ruleset_order(spark):
    results = evaluate_locally(
        spark.createDataFrame(ROWS, SCHEMA), 'Rules = [ RowCount > 0, IsComplete "name", Mean "score" > 1, IsComplete "name" ]'
    )
    frame = results.row_outcomes
    assert frame.columns == ["id", "name", "rating", "score", *ROW_OUTCOME_COLUMNS]
    rows = {row["id"]: row for row in frame.collect() if row["name"] != "bo"}
    assert rows[1][RULES_PASS] == ['IsComplete "name"'] and rows[1][RULES_FAIL] == []
    assert rows[2][RULES_FAIL] == ['IsComplete "name"'] and rows[2][EVALUATION_RESULT] == "Failed"
    assert sorted(rows[1][RULES_SKIP]) == ['Mean "score" > 1', "RowCount > 0"] and rows[1][EVALUATION_RESULT] == "Passed"
    # One outcome per distinct rule, in the ruleset's order (deequ's own order is not).
    assert [outcome.rule for outcome in results.rule_outcomes] == ["RowCount > 0", 'IsComplete "name"', 'Mean "score" > 1']


def test_metric_names_follow_glues_column_and_dataset_forms(spark):
    judged = evaluate_locally(
        spark.createDataFrame(ROWS, SCHEMA),
        'Rules = [ IsUnique "id", Uniqueness "id" > 0.1, IsComplete "name", ColumnValues "rating" in [1, 5], '
        'ColumnValues "rating" > 0, Completeness "score" > 0.1, RowCount > 0 ]',
    ).rule_outcomes
    assert [list(outcome.evaluated_metrics) for outcome in judged] == [
        ["Column.id.Uniqueness"],
        ["Column.id.Uniqueness"],
        ["Column.name.Completeness"],
        ["Column.rating.ColumnValues.Compliance"],
        ["Column.rating.Minimum"],
        ["Column.score.Completeness"],
        ["Dataset.*.RowCount"],
    ]


def test_routing_row_rules_against_the_rules_deequ_lists_per_row(on_rows):
    """Routing quarantines rows for row rules only (dqdl.rule_level); deequ lists more rules per
    row. Those it lists but routing leaves to the batch are exactly the ratio and threshold forms."""
    listed_not_routed = sorted(rule for rule, (result, _) in on_rows.items() if result.listed_per_row and result.level != ROW)
    assert listed_not_routed == sorted([
        'Completeness "rating" >= 0.75', 'Completeness "rating" > 0.75', 'Completeness "rating" = 0.5 where "id = 2"',
        'Uniqueness "id" > 0.3', 'Uniqueness "id" >= 0.5', 'UniqueValueRatio "id" = 0.5',
        'ColumnValues "rating" in [1, 3, 5] with threshold >= 0.75', 'ColumnValues "rating" in [1, 3, 5] with threshold > 0.5',
        'CustomSql "select id from primary where rating >= 3"',
    ])
    routed_not_listed = sorted(rule for rule, (result, _) in on_rows.items() if result.level == ROW and not result.listed_per_row)
    assert routed_not_listed == []
    assert all(rule_level(rule) == on_rows[rule][0].level for rule in ON_ROWS)
