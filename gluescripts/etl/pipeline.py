"""One batch of the job: parse, evaluate the rules, split into output and quarantine, reconcile.

`process_batch` is what the Glue entrypoint and the local runner both call. It writes through a
`Sink`, so where the rows go (S3 on Glue, a folder locally, memory in tests) is the caller's choice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

from pyspark import StorageLevel
from pyspark.sql import DataFrame, Observation
from pyspark.sql import functions as F

from gluescripts.etl.dqdl import Rule
from gluescripts.etl.evaluate import FAILED, FAILED_RULES, RuleEvaluation, RuleResult
from gluescripts.etl.schema import MALFORMED_REASON, RAW, TableSchema, parse_json_lines, with_partition_column

REASONS = "reasons"


class Sink(Protocol):
    def write_quarantine(self, records: DataFrame) -> None:
        """Store quarantined records: the `record` (as it arrived when malformed) and its `reasons`."""

    def write_output(self, records: DataFrame, partition_column: str) -> None:
        """Store the records that passed, partitioned by `partition_column`."""


class ReconciliationError(RuntimeError):
    """Rows were lost or duplicated between reading and writing; the batch must not be committed."""


@dataclass(frozen=True)
class BatchReport:
    read: int
    written: int
    quarantined: int
    malformed: int
    rules: tuple[RuleResult, ...]
    max_quarantine_fraction: float
    failures: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return not self.failures

    def as_dict(self) -> dict:
        return {
            "records": {"read": self.read, "written": self.written, "quarantined": self.quarantined, "malformed": self.malformed},
            "rules": [result.as_dict() for result in self.rules],
            "max_quarantine_fraction": self.max_quarantine_fraction,
            "passed": self.passed,
            "failures": list(self.failures),
        }


def _failures(results: list[RuleResult], read: int, quarantined: int, max_fraction: float) -> tuple[str, ...]:
    """Why the batch fails: dataset-level rules that failed, and too large a quarantined share."""
    problems = [f"data quality rule failed: {r.rule} ({r.reason})" for r in results if r.level == "dataset" and r.outcome == FAILED]
    if read and quarantined / read > max_fraction:
        problems.append(
            f"quarantined {quarantined} of {read} records ({quarantined / read:.1%}), above the limit of {max_fraction:.1%}"
        )
    return tuple(problems)


def process_batch(
    lines: DataFrame,
    schema: TableSchema,
    rules: tuple[Rule, ...],
    max_quarantine_fraction: float,
    sink: Sink,
    on_evaluated: Callable[[DataFrame], None] | None = None,
) -> BatchReport:
    """Process one batch of JSON lines (a frame with a string column `value`).

    The rules are evaluated before anything is written. When the batch fails (a dataset-level rule
    or the quarantine limit), nothing is written, so a rerun of the same input starts clean. When it
    passes, quarantined records are written first and the output second, then the written counts
    are reconciled with the read count; `ReconciliationError` means the batch must not be committed.
    `on_evaluated` then receives the well-formed typed records (still cached), pass or fail.
    """
    records = lines.filter(F.trim(F.col("value")) != "")
    parsed = parse_json_lines(records, schema)
    evaluation = RuleEvaluation(parsed, rules, schema.column_names, well_formed=F.col(MALFORMED_REASON).isNull())
    # Parsed once and kept: the measurement, the split and both writes all read this cache.
    prepared = evaluation.prepared.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        report = _evaluate_and_write(evaluation, schema, max_quarantine_fraction, sink)
        if on_evaluated is not None:
            on_evaluated(prepared.filter(F.col(MALFORMED_REASON).isNull()).select(*schema.column_names))
        return report
    finally:
        evaluation.release()
        prepared.unpersist()


def _evaluate_and_write(evaluation: RuleEvaluation, schema: TableSchema, max_quarantine_fraction: float, sink: Sink) -> BatchReport:
    measurement = evaluation.measure()
    metrics = measurement.metrics
    malformed = metrics["__malformed"]
    read = metrics["__rows"] + malformed
    flagged = evaluation.flagged(measurement)
    is_quarantined = F.col(MALFORMED_REASON).isNotNull() | (F.size(FAILED_RULES) > 0)
    expected_quarantine = flagged.filter(is_quarantined).count()
    results = evaluation.results(metrics)
    failures = _failures(results, read, expected_quarantine, max_quarantine_fraction)
    if failures:
        return BatchReport(read, 0, 0, malformed, tuple(results), max_quarantine_fraction, failures)

    quarantine = flagged.filter(is_quarantined).select(
        # A malformed line as it arrived; a rule-breaking record as the job read it, in the schema's types.
        F.coalesce(F.col(RAW), F.to_json(F.struct(*schema.column_names))).alias("record"),
        F.when(F.col(MALFORMED_REASON).isNotNull(), F.array(MALFORMED_REASON)).otherwise(F.col(FAILED_RULES)).alias(REASONS),
    )
    output = with_partition_column(flagged.filter(~is_quarantined), schema).select(
        *schema.column_names, schema.partition_column
    )
    quarantined_count, written_count = Observation("quarantined"), Observation("written")
    if expected_quarantine:
        sink.write_quarantine(quarantine.observe(quarantined_count, F.count(F.lit(1)).alias("rows")))
    sink.write_output(output.observe(written_count, F.count(F.lit(1)).alias("rows")), schema.partition_column)
    quarantined = quarantined_count.get["rows"] if expected_quarantine else 0
    written = written_count.get["rows"]
    if read != written + quarantined:
        raise ReconciliationError(
            f"records do not reconcile: read {read} != written {written} + quarantined {quarantined}"
        )
    return BatchReport(read, written, quarantined, malformed, tuple(results), max_quarantine_fraction)
