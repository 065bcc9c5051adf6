"""Data quality results in the shapes Glue Data Quality returns, and what the job decides from them.

On Glue, `EvaluateDataQuality().process_rows(...)` returns a collection of two frames (AWS Glue
Developer Guide, "Data Quality for ETL jobs in AWS Glue Studio notebooks" and "Evaluating data
quality with AWS Glue ETL"):

- `ruleOutcomes`: one row per rule with `Rule`, `Outcome` (Passed, Failed or Error),
  `FailureReason` and `EvaluatedMetrics` (a map of metric name to value);
- `rowLevelOutcomes`: the input columns plus `DataQualityRulesPass`, `DataQualityRulesFail`,
  `DataQualityRulesSkip` (arrays of rule texts) and `DataQualityEvaluationResult` (Passed or Failed).

The local engine (`evaluate.evaluate_locally`, AWS's DQDL engine from awslabs/deequ) returns the
same two results, so everything after evaluation (the quarantine limit, the routing, the writes
and the report) is one code path.

Which failed rules quarantine a row is this project's decision, not Glue's: Glue also lists ratio
rules such as Completeness in a row's `DataQualityRulesFail`, and routing on
`DataQualityEvaluationResult` alone would quarantine rows that only a batch-level tolerance judges.
A row is quarantined for the failed rules that are row rules by `dqdl.rule_level`; every other rule
judges the batch, through its outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from gluescripts.etl.dqdl import ROW, rule_level

RULE_OUTCOMES, ROW_LEVEL_OUTCOMES = "ruleOutcomes", "rowLevelOutcomes"
RULES_PASS, RULES_FAIL, RULES_SKIP = "DataQualityRulesPass", "DataQualityRulesFail", "DataQualityRulesSkip"
EVALUATION_RESULT = "DataQualityEvaluationResult"
ROW_OUTCOME_COLUMNS = (RULES_PASS, RULES_FAIL, RULES_SKIP, EVALUATION_RESULT)
PASSED, FAILED, ERROR = "Passed", "Failed", "Error"
# Only the local seam says this: a rule deequ cannot run here is never reported as Passed.
NOT_EVALUATED_LOCALLY = "NotEvaluatedLocally"


@dataclass(frozen=True)
class RuleOutcome:
    """One row of `ruleOutcomes`."""

    rule: str
    outcome: str
    failure_reason: str | None = None
    evaluated_metrics: Mapping[str, float] = field(default_factory=dict)

    @property
    def level(self) -> str:
        return rule_level(self.rule)

    def as_dict(self) -> dict:
        document = {"rule": self.rule, "outcome": self.outcome, "level": self.level}
        if self.failure_reason:
            document["failure_reason"] = self.failure_reason
        if self.evaluated_metrics:
            document["evaluated_metrics"] = dict(self.evaluated_metrics)
        return document


@dataclass(frozen=True)
class QualityResults:
    """What one evaluation of a ruleset over a batch returned: the two documented results."""

    rule_outcomes: tuple[RuleOutcome, ...]
    row_outcomes: DataFrame


# (well-formed typed records, DQDL text) -> results: Glue Data Quality on Glue, the local engine elsewhere.
Evaluator = Callable[[DataFrame, str], QualityResults]


def rule_outcomes_from_rows(rows: Iterable[Mapping]) -> tuple[RuleOutcome, ...]:
    """`ruleOutcomes` rows (as collected from Glue's frame) as `RuleOutcome`s."""
    return tuple(
        RuleOutcome(
            rule=str(row["Rule"]),
            outcome=str(row["Outcome"]),
            failure_reason=row.get("FailureReason") or None,
            evaluated_metrics={str(k): float(v) for k, v in (row.get("EvaluatedMetrics") or {}).items() if v is not None},
        )
        for row in rows
    )


def batch_failures(outcomes: Iterable[RuleOutcome]) -> tuple[str, ...]:
    """The rules that fail the batch: batch-level rules that failed, and any rule that could not run.

    A failed row rule does not fail the batch: its rows are quarantined and the quarantine limit
    judges their share.
    """
    return tuple(
        f"data quality rule {'failed' if o.outcome == FAILED else 'could not be evaluated'}: {o.rule}"
        + (f" ({o.failure_reason})" if o.failure_reason else "")
        for o in outcomes
        if o.outcome == ERROR or (o.outcome == FAILED and o.level != ROW)
    )


def quarantine_reasons(outcomes: Iterable[RuleOutcome]) -> Column:
    """Per row of `rowLevelOutcomes`: the failed rules that quarantine it (an empty array keeps it)."""
    row_rules = sorted({o.rule for o in outcomes if o.level == ROW})
    if not row_rules:
        return F.array().cast("array<string>")
    return F.filter(F.coalesce(F.col(RULES_FAIL), F.array().cast("array<string>")), lambda rule: rule.isin(row_rules))
