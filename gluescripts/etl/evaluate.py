"""Evaluates DQDL rules on a typed frame with plain PySpark, following Glue Data Quality's semantics.

Row-level rules become one boolean per row (NULL-aware as Glue documents: NULL fails every
ColumnValues expression except `!=` and `not in`, ColumnLength counts NULL as length 0, IsUnique
ignores NULL keys, IsPrimaryKey fails them). Every metric a rule needs is computed in a single
aggregation over the frame, so the data is scanned once for the whole ruleset.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field

from pyspark.sql import Column, DataFrame, Window
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


@dataclass
class _Plan:
    """The columns to add per row and the aggregations to run once, with how to read them back."""

    row_columns: dict[str, Column] = field(default_factory=dict)
    aggregations: dict[str, Column] = field(default_factory=dict)

    def aggregate(self, name: str, expression: Column) -> str:
        self.aggregations[name] = expression
        return name


class RuleEvaluation:
    """A ruleset bound to a frame: per-row flags now, dataset results after one aggregation."""

    def __init__(self, records: DataFrame, rules: tuple[Rule, ...], data_columns: tuple[str, ...]):
        self.rules = rules
        self.data_columns = data_columns
        self._plan = _Plan()
        self._row_rule_flags: list[tuple[Rule, str]] = []
        for index, rule in enumerate(rules):
            missing = [c for c in rule.columns if c not in data_columns and rule.rule_type != "ColumnExists"]
            if missing:
                raise EvaluationError(f"rule '{rule.text}' refers to unknown column(s) {', '.join(missing)}")
            self._prepare(index, rule)
        flagged = records
        for name, column in self._plan.row_columns.items():
            flagged = flagged.withColumn(name, column)
        failed = [F.when(~F.col(flag), F.lit(rule.text)) for rule, flag in self._row_rule_flags]
        self.flagged = flagged.withColumn(
            FAILED_RULES, F.array_compact(F.array(*failed)) if failed else F.array().cast("array<string>")
        )

    @property
    def aggregations(self) -> dict[str, Column]:
        """Aggregate expressions over `flagged` whose values `results()` needs."""
        return {"__rows": F.count(F.lit(1)), **self._plan.aggregations}

    def _prepare(self, index: int, rule: Rule) -> None:
        kind, plan, key = rule.rule_type, self._plan, f"__r{index}"
        if kind in ("IsUnique", "Uniqueness", "IsPrimaryKey"):
            columns = [F.col(c) for c in rule.columns]
            all_null = F.lit(True)
            for column in columns:
                all_null = all_null & column.isNull()
            any_null = F.lit(False)
            for column in columns:
                any_null = any_null | column.isNull()
            occurrences = F.count(F.lit(1)).over(Window.partitionBy(*columns))
            plan.row_columns[f"{key}_count"] = occurrences
            unique = F.col(f"{key}_count") == 1
            if kind == "IsPrimaryKey":
                passes = ~any_null & unique
            else:
                passes = all_null | unique
            plan.row_columns[f"{key}_ok"] = passes
            if kind == "Uniqueness":
                plan.aggregate(f"{key}_unique", F.sum(F.when(~all_null & unique, 1).otherwise(0)))
                plan.aggregate(f"{key}_counted", F.sum(F.when(~all_null, 1).otherwise(0)))
                del plan.row_columns[f"{key}_ok"]
                return
        elif kind == "IsComplete":
            plan.row_columns[f"{key}_ok"] = F.col(rule.columns[0]).isNotNull()
        elif kind == "Completeness":
            plan.aggregate(f"{key}_complete", F.count(F.col(rule.columns[0])))
            return
        elif kind == "ColumnValues":
            plan.row_columns[f"{key}_ok"] = _values_condition(F.col(rule.columns[0]), rule.expression)
        elif kind == "ColumnLength":
            length = F.length(F.coalesce(F.col(rule.columns[0]).cast("string"), F.lit("")))
            plan.row_columns[f"{key}_ok"] = _values_condition(length, rule.expression)
        else:  # RowCount, ColumnCount, ColumnExists need no per-row work
            return
        plan.aggregate(f"{key}_failed", F.sum(F.when(F.col(f"{key}_ok"), 0).otherwise(1)))
        if rule.is_row_level:
            self._row_rule_flags.append((rule, f"{key}_ok"))

    def results(self, metrics: dict[str, int]) -> list[RuleResult]:
        """Each rule's outcome, from the values of `aggregations` computed over `flagged`."""
        rows = metrics["__rows"] or 0
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
        if kind in ("Completeness", "Uniqueness"):
            denominator = rows if kind == "Completeness" else metrics[f"{key}_counted"] or 0
            if denominator == 0:
                return RuleResult(rule.text, FAILED, level, reason="no values to measure")
            numerator = metrics[f"{key}_complete"] if kind == "Completeness" else metrics[f"{key}_unique"]
            return judged(round(numerator / denominator, 6), rule.expression)
        failed = int(metrics[f"{key}_failed"] or 0)
        if rule.threshold is not None:
            if rows == 0:
                return RuleResult(rule.text, FAILED, level, failed_rows=0, reason="no rows to measure")
            return judged(round((rows - failed) / rows, 6), rule.threshold, failed_rows=failed)
        metric = 1.0 if rows == 0 else round((rows - failed) / rows, 6)
        outcome = PASSED if failed == 0 else FAILED
        reason = None if failed == 0 else f"{failed} of {rows} rows failed"
        return RuleResult(rule.text, outcome, level, metric=metric, failed_rows=failed, reason=reason)
