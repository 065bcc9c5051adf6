"""The local data quality engine: DQDL on plain PySpark, returning what Glue Data Quality returns.

`evaluate_locally(records, ruleset)` gives the `ruleOutcomes` and `rowLevelOutcomes` shapes of
`quality.py`, so the job's routing, writes and report run unchanged locally. Glue Data Quality
decides on Glue; this engine stands in for it on a laptop, in the tests and in the bench.

Semantics, as Glue and AWS's DQDL code document them: NULL fails every ColumnValues condition
except `!=` and `not in`; `= NULL`, `!= EMPTY` and friends test for the keyword's kind of value;
ColumnLength counts NULL as length 0; IsUnique ignores all-NULL keys, IsPrimaryKey fails them;
`between` is exclusive; ratios are compared unrounded; rows outside a rule's `where` filter pass it;
dataset-level rules (RowCount, ColumnCount, ColumnExists) are in every row's `DataQualityRulesSkip`.
Composite rules are judged by combining their parts' outcomes, and row by row when every part has
row-level results. A rule the engine cannot evaluate is reported `NotEvaluatedLocally`.

Every metric comes from one aggregation (the sums ride along the first key grouping), so the
records are scanned once for the whole ruleset, plus one small grouping per distinct key.
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Observation
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, StringType
from pyspark.sql.utils import AnalysisException

from gluescripts.etl.dqdl import COMPARISONS, Composite, DqdlError, Expression, Keyword, Rule, RuleNode, parse_ruleset
from gluescripts.etl.quality import (
    EVALUATION_RESULT, FAILED, NOT_EVALUATED_LOCALLY, PASSED, RULES_FAIL, RULES_PASS, RULES_SKIP,
    QualityResults, RuleOutcome,
)

_KEY_RULE_TYPES = ("IsUnique", "Uniqueness", "IsPrimaryKey")
# Rule types with a pass or fail per row; in a composite, Glue leaves the ratio ones out of row results.
_ROW_RESULT_TYPES = ("IsComplete", "Completeness", "IsUnique", "Uniqueness", "IsPrimaryKey", "ColumnValues", "ColumnLength")
_RATIO_RULE_TYPES = ("Completeness", "Uniqueness")


class EvaluationError(ValueError):
    """A rule refers to something the data does not have (an unknown column, a bad `where` filter)."""


def _is_keyword(column: Column, keyword: Keyword) -> Column:
    text = column.cast(StringType())
    if keyword.name == "NULL":
        return column.isNull()
    if keyword.name == "EMPTY":
        return text == ""
    return (F.trim(text) == "") & (text != "")  # WHITESPACES_ONLY


def _values_condition(column: Column, expression: Expression) -> Column:
    """True where a row's value satisfies the condition, NULL handled as Glue documents."""
    op, operands = expression.operator, expression.operands
    if op in ("=", "!=") and isinstance(operands[0], Keyword):
        matches = F.coalesce(_is_keyword(column, operands[0]), F.lit(False))
        return matches if op == "=" else ~matches
    if op in COMPARISONS:
        result = COMPARISONS[op](column, F.lit(operands[0]))
        return F.coalesce(result, F.lit(op == "!="))
    if op in ("between", "not between"):
        inside = (column > F.lit(operands[0])) & (column < F.lit(operands[1]))
        return F.coalesce(inside if op == "between" else ~inside, F.lit(False))
    if op in ("in", "not in"):
        keywords = [o for o in operands if isinstance(o, Keyword)]
        # NULL rows are decided by whether NULL is listed; for any other row, isin (false for an empty
        # list) and the keyword tests are true or false, never NULL.
        member = column.isin([o for o in operands if not isinstance(o, Keyword)])
        for keyword in keywords:
            member = member | _is_keyword(column, keyword)
        null_listed = Keyword("NULL") in keywords
        if op == "in":
            return F.when(column.isNull(), F.lit(null_listed)).otherwise(member)
        return F.when(column.isNull(), F.lit(not null_listed)).otherwise(~member)
    if op in ("matches", "not matches"):
        # DQDL matches the whole value, not a substring.
        matched = column.cast(StringType()).rlike(f"^(?:{operands[0]})$")
        return F.coalesce(matched if op == "matches" else ~matched, F.lit(False))
    raise EvaluationError(f"unsupported condition '{expression.describe()}'")


def _all_null(columns: tuple[str, ...]) -> Column:
    return functools.reduce(operator.and_, [F.col(name).isNull() for name in columns])


def _any_null(columns: tuple[str, ...]) -> Column:
    return functools.reduce(operator.or_, [F.col(name).isNull() for name in columns])


def _column_metric(columns: tuple[str, ...], name: str) -> str:
    return f"Column.{columns[0]}.{name}" if len(columns) == 1 else f"Multicolumn.{','.join(columns)}.{name}"


@dataclass(frozen=True)
class _KeyGroup:
    """One distinct (key columns, where filter) of the uniqueness rules."""

    columns: tuple[str, ...]
    where: str | None


def _atoms(nodes: tuple[RuleNode, ...]) -> list[Rule]:
    found: list[Rule] = []
    for node in nodes:
        found.extend(_atoms(node.parts) if isinstance(node, Composite) else [node])
    return found


class _Evaluation:
    def __init__(self, records: DataFrame, rules: tuple[RuleNode, ...]):
        self.records, self.rules = records, rules
        self.data_columns = tuple(records.columns)
        self.atoms = [rule for rule in _atoms(rules) if rule.not_local is None]
        self.ids = {id(rule): index for index, rule in enumerate(self.atoms)}
        self.key_groups: list[_KeyGroup] = []
        for rule in self.atoms:
            missing = [c for c in rule.columns if c not in self.data_columns and rule.rule_type != "ColumnExists"]
            if missing:
                raise EvaluationError(f"rule '{rule.text}' refers to unknown column(s) {', '.join(missing)}")
            if rule.rule_type in _KEY_RULE_TYPES and _KeyGroup(rule.columns, rule.where) not in self.key_groups:
                self.key_groups.append(_KeyGroup(rule.columns, rule.where))
        self.scopes = {index: self._scope(rule) for index, rule in enumerate(self.atoms)}

    def _scope(self, rule: Rule) -> Column:
        if rule.where is None:
            return F.lit(True)
        try:
            condition = F.expr(rule.where)
            self.records.select(condition).schema  # noqa: B018 - analysed now, so a bad filter names its rule
        except Exception as problem:  # ParseException and AnalysisException alike
            detail = str(problem).strip().splitlines()[0] if str(problem).strip() else problem.__class__.__name__
            raise EvaluationError(f"rule '{rule.text}': where \"{rule.where}\" is not a valid condition: {detail}") from None
        return F.coalesce(condition, F.lit(False))

    def _value_pass(self, rule: Rule) -> Column | None:
        """Whether a row passes a rule that needs nothing but the row itself."""
        column = F.col(rule.columns[0]) if rule.columns else None
        if rule.rule_type in ("IsComplete", "Completeness"):
            return column.isNotNull()
        if rule.rule_type == "ColumnLength":
            return _values_condition(F.length(F.coalesce(column.cast(StringType()), F.lit(""))), rule.expression)
        if rule.rule_type == "ColumnValues":
            return _values_condition(column, rule.expression)
        return None

    def run(self) -> QualityResults:
        metrics, duplicates = self._measure()
        outcomes = tuple(self._outcome(node, metrics) for node in self.rules)
        return QualityResults(outcomes, self._row_outcomes(duplicates))

    def _sums(self) -> dict[str, Column]:
        sums: dict[str, Column] = {"rows": F.lit(1)}
        for index, rule in enumerate(self.atoms):
            scope = self.scopes[index]
            sums[f"r{index}_scope"] = F.when(scope, 1).otherwise(0)
            passes = self._value_pass(rule)
            if passes is not None:
                sums[f"r{index}_failed"] = F.when(scope & ~passes, 1).otherwise(0)
        return sums

    def _measure(self) -> tuple[dict[str, int], dict[_KeyGroup, DataFrame]]:
        sums = self._sums()
        if not self.key_groups:
            row = self.records.agg(*[F.sum(value).alias(name) for name, value in sums.items()]).first()
            return {k: v or 0 for k, v in row.asDict().items()}, {}
        metrics: dict[str, int] = {}
        duplicates: dict[_KeyGroup, DataFrame] = {}
        # The sums ride along the first grouping's scan as observed metrics instead of widening every group.
        totals = Observation()  # a unique name: concurrent evaluations in one session never swap metrics
        source = self.records.observe(totals, *[F.sum(value).alias(name) for name, value in sums.items()])
        spark = self.records.sparkSession
        for position, group in enumerate(self.key_groups):
            frame = source if position == 0 else self.records
            if group.where is not None:
                frame = frame.filter(F.coalesce(F.expr(group.where), F.lit(False)))
            grouped = frame.groupBy(*group.columns).agg(F.count(F.lit(1)).alias("n"))
            all_null, any_null = _all_null(group.columns), _any_null(group.columns)
            duplicated = ~all_null & (F.col("n") > 1)
            # The duplicated keys are few next to the batch: gathered in the same job, they are
            # broadcast to flag rows.
            stats = grouped.agg(
                F.sum(F.when(~all_null, F.col("n")).otherwise(0)).alias(f"k{position}_rows"),
                F.sum(F.when(~all_null & (F.col("n") == 1), 1).otherwise(0)).alias(f"k{position}_unique"),
                F.sum(F.when(duplicated, F.col("n")).otherwise(0)).alias(f"k{position}_duplicated"),
                F.sum(F.when(any_null | (F.col("n") > 1), F.col("n")).otherwise(0)).alias(f"k{position}_pk_failed"),
                F.collect_list(F.when(duplicated, F.struct(*group.columns))).alias("duplicated_keys"),
            ).first()
            metrics.update({k: v or 0 for k, v in stats.asDict().items() if k != "duplicated_keys"})
            if stats["duplicated_keys"]:
                key_schema = frame.select(*group.columns).schema
                duplicates[group] = spark.createDataFrame(stats["duplicated_keys"], key_schema)
        metrics.update({k: v or 0 for k, v in totals.get.items()})
        return metrics, duplicates

    def _outcome(self, node: RuleNode, metrics: dict[str, int]) -> RuleOutcome:
        if node.not_local is not None:
            return RuleOutcome(node.text, NOT_EVALUATED_LOCALLY, f"not evaluated locally: {node.not_local}")
        if isinstance(node, Composite):
            parts = [self._outcome(part, metrics) for part in node.parts]
            passed = [part.outcome == PASSED for part in parts]
            ok = all(passed) if node.operator == "and" else any(passed)
            reasons = "; ".join(f"{p.rule}: {p.failure_reason}" for p in parts if p.outcome != PASSED and p.failure_reason)
            merged = {name: value for part in parts for name, value in part.evaluated_metrics.items()}
            return RuleOutcome(node.text, PASSED if ok else FAILED, None if ok else reasons or None, merged)
        return self._atom_outcome(node, metrics)

    def _atom_outcome(self, rule: Rule, metrics: dict[str, int]) -> RuleOutcome:
        index, kind = self.ids[id(rule)], rule.rule_type
        in_scope = metrics[f"r{index}_scope"]

        def judged(name: str, value: float, expression: Expression) -> RuleOutcome:
            try:
                ok = expression.holds(value)
            except DqdlError as problem:
                raise EvaluationError(f"rule '{rule.text}': {problem}") from None
            reason = None if ok else f"value {value:g} does not satisfy '{expression.describe()}'"
            return RuleOutcome(rule.text, PASSED if ok else FAILED, reason, {name: float(value)})

        def no_failures(failed: int, extra: dict[str, float]) -> RuleOutcome:
            reason = None if failed == 0 else f"{failed} of {in_scope} rows failed"
            return RuleOutcome(rule.text, PASSED if failed == 0 else FAILED, reason, extra)

        if kind == "RowCount":
            return judged("Dataset.*.RowCount", in_scope, rule.expression)
        if kind == "ColumnCount":
            return judged("Dataset.*.ColumnCount", len(self.data_columns), rule.expression)
        if kind == "ColumnExists":
            exists = rule.columns[0] in self.data_columns
            return RuleOutcome(rule.text, PASSED if exists else FAILED, None if exists else "column is absent")
        if kind in _KEY_RULE_TYPES:
            key = f"k{self.key_groups.index(_KeyGroup(rule.columns, rule.where))}"
            rows, unique = metrics[f"{key}_rows"], metrics[f"{key}_unique"]
            uniqueness = {_column_metric(rule.columns, "Uniqueness"): unique / rows if rows else 1.0}
            if kind == "Uniqueness":
                if rows == 0:
                    return RuleOutcome(rule.text, FAILED, "no values to measure")
                return judged(_column_metric(rule.columns, "Uniqueness"), unique / rows, rule.expression)
            return no_failures(metrics[f"{key}_duplicated" if kind == "IsUnique" else f"{key}_pk_failed"], uniqueness)
        failed = metrics[f"r{index}_failed"]
        if kind == "Completeness":
            if in_scope == 0:
                return RuleOutcome(rule.text, FAILED, "no values to measure")
            return judged(_column_metric(rule.columns, "Completeness"), (in_scope - failed) / in_scope, rule.expression)
        compliance = 1.0 if in_scope == 0 else (in_scope - failed) / in_scope
        name = _column_metric(rule.columns, "Completeness" if kind == "IsComplete" else f"{kind}.Compliance")
        if rule.threshold is not None:
            if in_scope == 0:
                return RuleOutcome(rule.text, FAILED, "no rows to measure")
            return judged(name, compliance, rule.threshold)
        return no_failures(failed, {name: compliance})

    def _row_outcomes(self, duplicates: dict[_KeyGroup, DataFrame]) -> DataFrame:
        frame = self.records
        flags: dict[_KeyGroup, Column] = {}
        for position, group in enumerate(self.key_groups):
            if group not in duplicates:
                flags[group] = F.lit(False)
                continue
            flag = f"__dup{position}"
            marked = duplicates[group].select(
                *[F.col(c).alias(f"__k{position}_{c}") for c in group.columns], F.lit(True).alias(flag)
            )
            condition = None
            for c in group.columns:
                term = F.col(c).eqNullSafe(F.col(f"__k{position}_{c}"))
                condition = term if condition is None else condition & term
            frame = frame.join(F.broadcast(marked), condition, "left").drop(*[f"__k{position}_{c}" for c in group.columns])
            flags[group] = F.coalesce(F.col(flag), F.lit(False))
        passing, failing, skipped = [], [], []
        for node in self.rules:
            passes = self._row_pass(node, flags)
            if passes is None:
                skipped.append(F.lit(node.text))
            else:
                passing.append(F.when(passes, F.lit(node.text)))
                failing.append(F.when(~passes, F.lit(node.text)))

        def listed(entries: list[Column]) -> Column:
            return F.array_compact(F.array(*entries)) if entries else F.array().cast(ArrayType(StringType()))

        frame = frame.select(
            *self.data_columns,
            listed(passing).alias(RULES_PASS),
            listed(failing).alias(RULES_FAIL),
            (F.array(*skipped) if skipped else F.array().cast(ArrayType(StringType()))).alias(RULES_SKIP),
        )
        return frame.withColumn(EVALUATION_RESULT, F.when(F.size(RULES_FAIL) > 0, F.lit(FAILED)).otherwise(F.lit(PASSED)))

    def _row_pass(self, node: RuleNode, flags: dict[_KeyGroup, Column], in_composite: bool = False) -> Column | None:
        """Whether each row passes `node`, or None when the rule has no row-level result."""
        if node.not_local is not None:
            return None
        if isinstance(node, Composite):
            parts = [self._row_pass(part, flags, in_composite=True) for part in node.parts]
            if any(part is None for part in parts):
                return None
            combined = parts[0]
            for part in parts[1:]:
                combined = (combined & part) if node.operator == "and" else (combined | part)
            return combined
        if node.rule_type not in _ROW_RESULT_TYPES or (in_composite and node.rule_type in _RATIO_RULE_TYPES):
            return None
        if in_composite and node.threshold is not None:
            return None
        scope = self.scopes[self.ids[id(node)]]
        if node.rule_type in _KEY_RULE_TYPES:
            duplicated = flags[_KeyGroup(node.columns, node.where)]
            if node.rule_type == "IsPrimaryKey":
                passes = ~_any_null(node.columns) & ~duplicated
            else:
                passes = _all_null(node.columns) | ~duplicated
        else:
            passes = self._value_pass(node)
        return ~scope | passes


def evaluate_locally(records: DataFrame, ruleset: str) -> QualityResults:
    """Evaluate a DQDL ruleset on `records` as Glue Data Quality would, in its result shapes.

    Raises `DqdlError` for text that is not DQDL and `EvaluationError` for a rule the data cannot
    answer (an unknown column, a `where` filter that is not a valid condition).
    """
    try:
        return _Evaluation(records, parse_ruleset(ruleset)).run()
    except AnalysisException as problem:
        raise EvaluationError(str(problem).strip().splitlines()[0]) from None
