"""Evaluates DQDL rules on a typed frame with plain PySpark, following Glue Data Quality's semantics.

Row-level rules become one boolean per row (NULL-aware as Glue documents: NULL fails every
ColumnValues expression except `!=` and `not in`, ColumnLength counts NULL as length 0, IsUnique
ignores NULL keys, IsPrimaryKey fails them). Every metric a rule needs is computed in a single
aggregation over the frame, so the data is scanned once for the whole ruleset.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Observation
from pyspark.sql import functions as F

from gluescripts.etl.dqdl import Expression, Keyword, Rule

FAILED_RULES = "_failed_rules"
PASSED, FAILED = "Passed", "Failed"

_COMPARE = {"=": operator.eq, "!=": operator.ne, ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


class EvaluationError(ValueError):
    """A rule refers to something the data does not have (for example an unknown column)."""


@dataclass(frozen=True)
class RuleResult:
    rule: str
    outcome: str
    level: str  # "row" or "dataset"
    metric: float | None = None
    failed_rows: int | None = None
    reason: str | None = None

    def as_dict(self) -> dict:
        return {key: value for key, value in self.__dict__.items() if value is not None}


def holds(expression: Expression, value: float) -> bool:
    """Whether a dataset metric satisfies a rule's expression (`between` is exclusive, as in DQDL)."""
    if expression.operator in _COMPARE:
        return _COMPARE[expression.operator](value, expression.operands[0])
    if expression.operator in ("between", "not between"):
        low, high = expression.operands
        inside = low < value < high
        return inside if expression.operator == "between" else not inside
    if expression.operator in ("in", "not in"):
        found = value in [o for o in expression.operands if not isinstance(o, Keyword)]
        return found if expression.operator == "in" else not found
    raise EvaluationError(f"'{expression.describe()}' cannot judge a number")


def _values_condition(column: Column, expression: Expression) -> Column:
    """True where a row's value satisfies the expression, NULL handled as Glue documents."""
    op, operands = expression.operator, expression.operands
    if op in _COMPARE:
        result = _COMPARE[op](column, F.lit(operands[0]))
        return F.coalesce(result, F.lit(op == "!="))
    if op in ("between", "not between"):
        inside = (column > F.lit(operands[0])) & (column < F.lit(operands[1]))
        return F.coalesce(inside if op == "between" else ~inside, F.lit(False))
    if op in ("in", "not in"):
        literals = [o for o in operands if not isinstance(o, Keyword)]
        keywords = {o.name for o in operands if isinstance(o, Keyword)}
        member = column.isin(literals) if literals else F.lit(False)
        if "EMPTY" in keywords:
            member = member | (column.cast("string") == "")
        if "WHITESPACES_ONLY" in keywords:
            member = member | ((F.trim(column.cast("string")) == "") & (column.cast("string") != ""))
        member = F.coalesce(member, F.lit(False))
        if op == "in":
            return F.when(column.isNull(), F.lit("NULL" in keywords)).otherwise(member)
        return F.when(column.isNull(), F.lit("NULL" not in keywords)).otherwise(~member)
    if op in ("matches", "not matches"):
        # DQDL matches the whole value, not a substring.
        matched = column.cast("string").rlike(f"^(?:{operands[0]})$")
        return F.coalesce(matched if op == "matches" else ~matched, F.lit(False))
    raise EvaluationError(f"unsupported expression '{expression.describe()}'")


_KEY_RULE_TYPES = ("IsUnique", "Uniqueness", "IsPrimaryKey")


@dataclass(frozen=True)
class Measurement:
    """What one evaluation measured: metric values by name, and the duplicated keys per key column set."""

    metrics: dict[str, int]
    duplicates: dict[tuple[str, ...], DataFrame]


class RuleEvaluation:
    """A ruleset bound to a frame: per-row conditions now, dataset metrics from `measure()`.

    `well_formed` marks the rows the rules apply to; the others (malformed records kept in the same
    frame) are counted apart and never flagged by a rule. Uniqueness rules group the frame by their
    key columns once per distinct column set; every other metric is a sum in the same aggregation,
    so the data is scanned once for the whole ruleset.
    """

    def __init__(
        self,
        records: DataFrame,
        rules: tuple[Rule, ...],
        data_columns: tuple[str, ...],
        well_formed: Column | None = None,
    ):
        self.rules = rules
        self.data_columns = data_columns
        self.well_formed = F.lit(True) if well_formed is None else well_formed
        for rule in rules:
            missing = [c for c in rule.columns if c not in data_columns and rule.rule_type != "ColumnExists"]
            if missing:
                raise EvaluationError(f"rule '{rule.text}' refers to unknown column(s) {', '.join(missing)}")
        self.key_sets: list[tuple[str, ...]] = []
        for rule in rules:
            if rule.rule_type in _KEY_RULE_TYPES and rule.columns not in self.key_sets:
                self.key_sets.append(rule.columns)
        conditions = {
            f"__r{index}_ok": self._row_condition(rule)
            for index, rule in enumerate(rules)
            if rule.rule_type in ("IsComplete", "ColumnValues", "ColumnLength")
        }
        self.prepared = records.withColumns(conditions) if conditions else records
        self._cached: list[DataFrame] = []

    @staticmethod
    def _row_condition(rule: Rule) -> Column:
        column = F.col(rule.columns[0])
        if rule.rule_type == "IsComplete":
            return column.isNotNull()
        if rule.rule_type == "ColumnLength":
            return _values_condition(F.length(F.coalesce(column.cast("string"), F.lit(""))), rule.expression)
        return _values_condition(column, rule.expression)

    def _sums(self) -> dict[str, Column]:
        """Per-row contributions to every metric that is a plain sum over the rows."""
        counted = self.well_formed
        sums = {"__rows": F.when(counted, 1).otherwise(0), "__malformed": F.when(counted, 0).otherwise(1)}
        for index, rule in enumerate(self.rules):
            if f"__r{index}_ok" in self.prepared.columns:
                sums[f"__r{index}_failed"] = F.when(counted & ~F.col(f"__r{index}_ok"), 1).otherwise(0)
            elif rule.rule_type == "Completeness":
                sums[f"__r{index}_complete"] = F.when(counted & F.col(rule.columns[0]).isNotNull(), 1).otherwise(0)
        return sums

    def measure(self) -> Measurement:
        """Run the aggregation: one job, plus one small grouping per additional key column set."""
        sums = self._sums()
        if not self.key_sets:
            row = self.prepared.agg(*[F.sum(value).alias(name) for name, value in sums.items()]).first()
            return Measurement({k: v or 0 for k, v in row.asDict().items()}, {})
        metrics: dict[str, int] = {}
        duplicates: dict[tuple[str, ...], DataFrame] = {}
        # The sums ride along the first grouping's scan as observed metrics instead of widening every group.
        totals = Observation("rule metrics")
        source = self.prepared.observe(totals, *[F.sum(value).alias(name) for name, value in sums.items()])
        for position, key in enumerate(self.key_sets):
            grouped = (source if position == 0 else self.prepared).groupBy(*key).agg(
                F.sum(sums["__rows"]).alias("__n")
            )
            all_null, any_null = _all_null(key), _any_null(key)
            counted = F.col("__n") > 0
            stats = {
                f"__k{position}_rows": F.sum(F.when(counted & ~all_null, F.col("__n")).otherwise(0)),
                f"__k{position}_unique": F.sum(F.when(counted & ~all_null & (F.col("__n") == 1), 1).otherwise(0)),
                f"__k{position}_duplicated": F.sum(F.when(~all_null & (F.col("__n") > 1), F.col("__n")).otherwise(0)),
                f"__k{position}_pk_failed": F.sum(F.when(any_null | (F.col("__n") > 1), F.col("__n")).otherwise(0)),
            }
            grouped = grouped.persist()
            self._cached.append(grouped)
            row = grouped.agg(*[value.alias(name) for name, value in stats.items()]).first()
            metrics.update({k: v or 0 for k, v in row.asDict().items()})
            duplicates[key] = grouped.filter(~all_null & (F.col("__n") > 1)).select(*key)
        metrics.update({k: v or 0 for k, v in totals.get.items()})
        return Measurement(metrics, duplicates)

    def release(self) -> None:
        """Drop the per-key groupings `measure()` cached."""
        for frame in self._cached:
            frame.unpersist()
        self._cached.clear()

    def flagged(self, measurement: Measurement) -> DataFrame:
        """The prepared rows with `_failed_rules`: the text of every row-level rule each row fails."""
        frame = self.prepared
        duplicate_flags = {}
        for position, key in enumerate(self.key_sets):
            flag = f"__k{position}_dup"
            marked = measurement.duplicates[key].select(
                *[F.col(c).alias(f"__k{position}_{c}") for c in key], F.lit(True).alias(flag)
            )
            condition = None
            for c in key:
                term = F.col(c).eqNullSafe(F.col(f"__k{position}_{c}"))
                condition = term if condition is None else condition & term
            frame = frame.join(F.broadcast(marked), condition, "left").drop(*[f"__k{position}_{c}" for c in key])
            duplicate_flags[key] = F.coalesce(F.col(flag), F.lit(False))
        failed = []
        for index, rule in enumerate(self.rules):
            if not rule.is_row_level:
                continue
            if rule.rule_type == "IsUnique":
                passes = _all_null(rule.columns) | ~duplicate_flags[rule.columns]
            elif rule.rule_type == "IsPrimaryKey":
                passes = ~_any_null(rule.columns) & ~duplicate_flags[rule.columns]
            else:
                passes = F.col(f"__r{index}_ok")
            failed.append(F.when(self.well_formed & ~passes, F.lit(rule.text)))
        return frame.withColumn(
            FAILED_RULES, F.array_compact(F.array(*failed)) if failed else F.array().cast("array<string>")
        )

    def results(self, metrics: dict[str, int]) -> list[RuleResult]:
        """Each rule's outcome, from the metrics `measure()` returned."""
        rows = metrics["__rows"]
        return [self._result(index, rule, metrics, rows) for index, rule in enumerate(self.rules)]

    def _result(self, index: int, rule: Rule, metrics: dict[str, int], rows: int) -> RuleResult:
        key, kind = f"__r{index}", rule.rule_type
        level = "row" if rule.is_row_level else "dataset"

        def judged(metric: float, expression: Expression, **extra) -> RuleResult:
            outcome = PASSED if holds(expression, metric) else FAILED
            reason = None if outcome == PASSED else f"value {metric:g} does not satisfy '{expression.describe()}'"
            return RuleResult(rule.text, outcome, level, metric=metric, reason=reason, **extra)

        if kind == "RowCount":
            return judged(rows, rule.expression)
        if kind == "ColumnCount":
            return judged(len(self.data_columns), rule.expression)
        if kind == "ColumnExists":
            exists = rule.columns[0] in self.data_columns
            return RuleResult(rule.text, PASSED if exists else FAILED, level, reason=None if exists else "column is absent")
        if kind in _KEY_RULE_TYPES:
            key = f"__k{self.key_sets.index(rule.columns)}"
        if kind in ("Completeness", "Uniqueness"):
            denominator = rows if kind == "Completeness" else metrics[f"{key}_rows"]
            if denominator == 0:
                return RuleResult(rule.text, FAILED, level, reason="no values to measure")
            numerator = metrics[f"{key}_complete"] if kind == "Completeness" else metrics[f"{key}_unique"]
            return judged(round(numerator / denominator, 6), rule.expression)
        if kind == "IsUnique":
            failed = metrics[f"{key}_duplicated"]
        elif kind == "IsPrimaryKey":
            failed = metrics[f"{key}_pk_failed"]
        else:
            failed = int(metrics[f"{key}_failed"])
        if rule.threshold is not None:
            if rows == 0:
                return RuleResult(rule.text, FAILED, level, failed_rows=0, reason="no rows to measure")
            return judged(round((rows - failed) / rows, 6), rule.threshold, failed_rows=failed)
        metric = 1.0 if rows == 0 else round((rows - failed) / rows, 6)
        outcome = PASSED if failed == 0 else FAILED
        reason = None if failed == 0 else f"{failed} of {rows} rows failed"
        return RuleResult(rule.text, outcome, level, metric=metric, failed_rows=failed, reason=reason)


def _all_null(columns: tuple[str, ...]) -> Column:
    condition = F.lit(True)
    for name in columns:
        condition = condition & F.col(name).isNull()
    return condition


def _any_null(columns: tuple[str, ...]) -> Column:
    condition = F.lit(False)
    for name in columns:
        condition = condition | F.col(name).isNull()
    return condition
