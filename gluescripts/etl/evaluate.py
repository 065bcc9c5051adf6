"""The local data quality engine: AWS's own DQDL engine (awslabs/deequ, `com.amazon.deequ.dqdl`).

On Glue, Glue Data Quality decides. Everywhere else (`run_local`, the tests, the bench) the job
asks `EvaluateDataQuality.processRows` of deequ, through py4j in the job's own Spark session. Its
two frames are Glue's two results (`ruleOutcomes`, `rowLevelOutcomes`), so the quarantine limit,
the routing, the writes and the report run unchanged after this seam.

What this module adds is only what Glue does around its engine: the records are the data set
`primary` (CustomSql reads it by that name), other data sets are passed by their aliases as Glue's
`additional_data_sources`, and a rule deequ cannot run here is reported `NotEvaluatedLocally`,
never Passed and never failing the run. Deequ's departures from Glue's documentation are pinned in
tests/glue/test_rules.py and listed in README "What runs where"; they are not patched here.
"""

from __future__ import annotations

import re
from typing import Mapping

from pyspark.errors import IllegalArgumentException
from pyspark.sql import DataFrame, SparkSession

from gluescripts.etl.quality import (
    NOT_EVALUATED_LOCALLY, ROW_LEVEL_OUTCOMES, ROW_OUTCOME_COLUMNS, RULE_OUTCOMES, QualityResults, RuleOutcome,
    rule_outcomes_from_rows,
)

# Glue's name for the evaluated data set in CustomSql (AWS Glue Developer Guide, DQDL reference, "CustomSql").
PRIMARY_ALIAS = "primary"
# Deequ's reasons for a rule it did not run: a rule type without a converter, a dynamic rule
# (`avg(last(3))`, which needs earlier runs' metrics) and a missing reference data set.
_NOT_RUN_HERE = re.compile(
    r"^(Rule \(or nested rule\) not supported|Can't execute the assertion"
    r"|Reference dataset '[^']*' not found|\S+ not found in additional sources)"
)
# Deequ's reasons for a rule that names data the records do not have: an unknown column, a `where`
# filter Spark cannot resolve. A rule that cannot look at its data gives no verdict: the run stops, naming it.
_CANNOT_RESOLVE = re.compile(r"^(Input data does not include column |org\.apache\.spark\.sql\.AnalysisException: )")


class EvaluationError(ValueError):
    """The ruleset cannot be evaluated on these records: AWS's parser refuses it, or a rule names a
    column the records do not have."""


def evaluate_locally(
    records: DataFrame, ruleset: str, reference_data: Mapping[str, DataFrame] | None = None
) -> QualityResults:
    """Evaluate a DQDL ruleset on `records` with AWS's DQDL engine, in Glue's result shapes.

    `reference_data` maps an alias to a data set, as Glue's `additional_data_sources` does, for
    ReferentialIntegrity, RowCountMatch, DatasetMatch, SchemaMatch and CustomSql joins.
    """
    spark = records.sparkSession
    sources = {**(reference_data or {}), PRIMARY_ALIAS: records}
    for alias, frame in sources.items():
        frame.createOrReplaceTempView(alias)
    jvm = spark._jvm
    try:
        results = jvm.com.amazon.deequ.dqdl.EvaluateDataQuality.processRows(
            records._jdf, ruleset, jvm.org.apache.spark.api.python.PythonUtils.toScalaMap(
                {alias: frame._jdf for alias, frame in sources.items() if alias != PRIMARY_ALIAS}
            )
        )
    except IllegalArgumentException as refused:
        raise EvaluationError(f"AWS's DQDL engine refuses the ruleset: {_first_line(refused)}") from None
    outcomes = tuple(_as_run_here(outcome) for outcome in rule_outcomes_from_rows(
        row.asDict() for row in DataFrame(results.apply(RULE_OUTCOMES), spark).collect()
    ))
    row_outcomes = DataFrame(results.apply(ROW_LEVEL_OUTCOMES), spark)
    return QualityResults(
        _in_ruleset_order(outcomes, rules_as_printed(spark, ruleset)),
        row_outcomes.select(*records.columns, *ROW_OUTCOME_COLUMNS),
    )


def _as_run_here(outcome: RuleOutcome) -> RuleOutcome:
    reason = outcome.failure_reason or ""
    if _CANNOT_RESOLVE.match(reason):
        raise EvaluationError(f"rule '{outcome.rule}': {reason.splitlines()[0]}")
    if _NOT_RUN_HERE.match(reason):
        return RuleOutcome(outcome.rule, NOT_EVALUATED_LOCALLY, f"not evaluated locally: {reason}")
    return outcome


def rules_as_printed(spark: SparkSession, ruleset: str) -> list[str]:
    """The ruleset's rules as the engine names them in its results (AWS's parser prints each), in order."""
    return [str(rule) for rule in spark._jvm.software.amazon.glue.dqdl.parser.DQDLParser().parse(ruleset).getRules()]


def _in_ruleset_order(outcomes: tuple[RuleOutcome, ...], texts: list[str]) -> tuple[RuleOutcome, ...]:
    """Deequ returns one outcome per distinct rule in no set order; reports list them as written."""
    position = {text: index for index, text in reversed(list(enumerate(texts)))}
    return tuple(sorted(outcomes, key=lambda outcome: (position.get(outcome.rule, len(texts)), outcome.rule)))


def _first_line(problem: Exception) -> str:
    return str(problem).strip().splitlines()[0]
