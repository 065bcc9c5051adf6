"""One batch of the job: parse, evaluate the ruleset once, route rows to output or quarantine, reconcile.

`process_batch` is what the Glue entrypoint and the local runner both call. The evaluation is a
parameter (Glue Data Quality on Glue, the local engine elsewhere) returning the shapes Glue
documents, and the writes go through a `Sink`: everything after the evaluation is one code path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from pyspark import StorageLevel
from pyspark.sql import DataFrame, Observation
from pyspark.sql import functions as F

from gluescripts.etl.metrics import (
    RECORDS_MALFORMED, RECORDS_QUARANTINED, RECORDS_READ, RECORDS_WITH_UNKNOWN_FIELDS, RECORDS_WRITTEN,
)
from gluescripts.etl.quality import Evaluator, QualityResults, RuleOutcome, batch_failures, quarantine_reasons
from gluescripts.etl.schema import MALFORMED_REASON, RAW, UNKNOWN_FIELDS, TableSchema, parse_json_lines, with_partition_column

REASONS = "reasons"


class Sink(Protocol):
    def write_quarantine(self, records: DataFrame) -> None:
        """Store quarantined records: the `record` (as it arrived when malformed) and its `reasons`."""

    def write_output(self, records: DataFrame, partition_column: str | None) -> None:
        """Store the records that passed, partitioned by `partition_column` when there is one."""


class ReconciliationError(RuntimeError):
    """Rows were lost or duplicated between reading and writing; the batch must not be committed."""


@dataclass(frozen=True)
class BatchReport:
    read: int
    written: int
    quarantined: int
    malformed: int
    with_unknown_fields: int
    unknown_fields: tuple[str, ...]
    rules: tuple[RuleOutcome, ...]
    max_quarantine_fraction: float
    failures: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return not self.failures

    def metric_counts(self) -> dict[str, int]:
        """The counts the run publishes as CloudWatch metrics, by metric name."""
        return {
            RECORDS_READ: self.read,
            RECORDS_WRITTEN: self.written,
            RECORDS_QUARANTINED: self.quarantined,
            RECORDS_MALFORMED: self.malformed,
            RECORDS_WITH_UNKNOWN_FIELDS: self.with_unknown_fields,
        }

    def as_dict(self) -> dict:
        return {
            "records": {
                "read": self.read,
                "written": self.written,
                "quarantined": self.quarantined,
                "malformed": self.malformed,
                "with_unknown_fields": self.with_unknown_fields,
            },
            "unknown_fields": list(self.unknown_fields),
            "rules": [outcome.as_dict() for outcome in self.rules],
            "max_quarantine_fraction": self.max_quarantine_fraction,
            "passed": self.passed,
            "failures": list(self.failures),
        }


@dataclass(frozen=True)
class _Intake:
    read: int
    malformed: int
    with_unknown_fields: int
    unknown_fields: tuple[str, ...]


def _intake(parsed: DataFrame) -> _Intake:
    """Counts of what arrived; as the first action on the parsed batch, it also fills its cache."""
    row = parsed.agg(
        F.count(F.lit(1)).alias("read"),
        F.count(MALFORMED_REASON).alias("malformed"),
        F.count(UNKNOWN_FIELDS).alias("with_unknown_fields"),
        F.array_sort(F.array_distinct(F.flatten(F.collect_set(UNKNOWN_FIELDS)))).alias("unknown_fields"),
    ).first()
    return _Intake(row["read"], row["malformed"], row["with_unknown_fields"], tuple(row["unknown_fields"] or ()))


def process_batch(
    lines: DataFrame,
    schema: TableSchema,
    ruleset: str,
    evaluate: Evaluator,
    max_quarantine_fraction: float,
    sink: Sink,
) -> BatchReport:
    """Process one batch of JSON lines (a frame with a string column `value`).

    Malformed lines are quarantined with their raw text; the ruleset is evaluated once on the
    well-formed typed records. The batch fails, writing nothing, when a batch-level rule fails or
    errs, or when the quarantined share exceeds `max_quarantine_fraction`; a rerun of the same input
    then starts clean. Otherwise quarantine is written first and the output second, and the written
    counts are reconciled with the read count: `ReconciliationError` means the batch must not be
    committed.
    """
    records = lines.filter(F.trim(F.col("value")) != "")
    # Parsed once and kept: the evaluation, the routing and both writes all read this cache.
    parsed = parse_json_lines(records, schema).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        intake = _intake(parsed)
        typed = parsed.filter(F.col(MALFORMED_REASON).isNull()).select(*schema.column_names)
        results = evaluate(typed, ruleset)
        # Routed once and kept: the count and both writes read it, not the evaluation again.
        routed = (
            results.row_outcomes.select(*schema.column_names, quarantine_reasons(results.rule_outcomes).alias(REASONS))
            .persist(StorageLevel.MEMORY_AND_DISK)
        )
        try:
            return _route_and_write(parsed, routed, intake, results, schema, max_quarantine_fraction, sink)
        finally:
            routed.unpersist()
    finally:
        parsed.unpersist()


def _route_and_write(
    parsed: DataFrame,
    routed: DataFrame,
    intake: _Intake,
    results: QualityResults,
    schema: TableSchema,
    max_fraction: float,
    sink: Sink,
) -> BatchReport:
    is_quarantined = F.size(REASONS) > 0
    expected_quarantine = intake.malformed + routed.filter(is_quarantined).count()
    failures = batch_failures(results.rule_outcomes)
    if intake.read and expected_quarantine / intake.read > max_fraction:
        failures += (
            f"quarantined {expected_quarantine} of {intake.read} records "
            f"({expected_quarantine / intake.read:.1%}), above the limit of {max_fraction:.1%}",
        )

    def report(written: int, quarantined: int, problems: tuple[str, ...] = ()) -> BatchReport:
        return BatchReport(
            intake.read, written, quarantined, intake.malformed, intake.with_unknown_fields,
            intake.unknown_fields, results.rule_outcomes, max_fraction, problems,
        )

    if failures:
        return report(0, 0, failures)

    quarantine = (
        # A malformed line as it arrived; a rule-breaking record as the job read it, in the schema's types.
        parsed.filter(F.col(MALFORMED_REASON).isNotNull())
        .select(F.col(RAW).alias("record"), F.array(MALFORMED_REASON).alias(REASONS))
        .unionByName(routed.filter(is_quarantined).select(F.to_json(F.struct(*schema.column_names)).alias("record"), REASONS))
    )
    passing = routed.filter(~is_quarantined).select(*schema.column_names)
    output = with_partition_column(passing, schema) if schema.partition_column else passing
    quarantined_count, written_count = Observation("quarantined"), Observation("written")
    if expected_quarantine:
        sink.write_quarantine(quarantine.observe(quarantined_count, F.count(F.lit(1)).alias("rows")))
    sink.write_output(output.observe(written_count, F.count(F.lit(1)).alias("rows")), schema.partition_column)
    quarantined = quarantined_count.get["rows"] if expected_quarantine else 0
    written = written_count.get["rows"]
    if intake.read != written + quarantined:
        raise ReconciliationError(
            f"records do not reconcile: read {intake.read} != written {written} + quarantined {quarantined}"
        )
    return report(written, quarantined)
