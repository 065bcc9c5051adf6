"""One batch of the job: read records strictly, evaluate the ruleset once, route them to output or quarantine, reconcile.

`process_batch` is what the Glue entrypoint and the local runner both call. The evaluation is a
parameter (Glue Data Quality on Glue, the local engine elsewhere) returning the shapes Glue
documents, and the writes go through a `Sink`: everything after the evaluation is one code path.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Protocol

from pyspark import StorageLevel
from pyspark.sql import DataFrame, Observation
from pyspark.sql import functions as F

from gluescripts.etl.metrics import (
    RECORDS_ALREADY_COMMITTED, RECORDS_MALFORMED, RECORDS_QUARANTINED, RECORDS_READ, RECORDS_WITH_UNKNOWN_FIELDS,
    RECORDS_WRITTEN,
)
from gluescripts.etl.quality import Evaluator, QualityResults, RuleOutcome, batch_failures, quarantine_reasons
from gluescripts.etl.schema import MALFORMED_REASON, RAW, UNKNOWN_FIELDS, TableSchema, parse_json_lines, source_key
from gluescripts.etl.table_schema import SOURCE_MODIFIED_AT, SOURCE_OBJECT

REASONS = "reasons"
# The routing's own columns start with "_", which no declared column may (table_schema.load_schema).
_REASONS = "_reasons"


class Sink(Protocol):
    def committed_sources(self, keys: list[str]) -> tuple[set[str], set[str]]:
        """Of the batch's source objects (`schema.source_key`: name and version), those committed whole,
        and those an earlier attempt may have cut off between its two commits."""

    def write_quarantine(self, records: DataFrame, replacing: list[str]) -> None:
        """Stage quarantined records, unseen by readers: `record` (its exact text as it arrived), `reasons`,
        and the source columns; in the same commit, the rows the table holds of the objects (keys) in `replacing` go."""

    def write_output(self, records: DataFrame) -> None:
        """Stage the records that passed, unseen by readers: schema.json's columns and the source columns.
        Staged on every batch that commits anything, with no rows too: it marks the batch complete."""

    def publish(self) -> None:
        """Make what was staged visible: one atomic commit per table."""


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
    # Records of source objects a table already held (an earlier attempt committed them): not written again.
    already_committed: int = 0

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
            RECORDS_ALREADY_COMMITTED: self.already_committed,
        }

    def as_dict(self) -> dict:
        return {
            "records": {
                "read": self.read,
                "written": self.written,
                "quarantined": self.quarantined,
                "malformed": self.malformed,
                "with_unknown_fields": self.with_unknown_fields,
                "already_committed": self.already_committed,
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
    """Process one batch of lines (a frame with a string or binary column `value`).

    Each line is read into records by the strict intake; malformed records are quarantined with
    their exact text, and the ruleset is evaluated once on the well-formed typed records. The batch
    fails, writing nothing, when a batch-level rule fails or errs, or when the quarantined share
    exceeds `max_quarantine_fraction`; a rerun of the same input then starts clean. Otherwise the
    records of source objects a table does not hold yet are staged (quarantine, then output), the
    staged counts are reconciled with the read count, and only then is the batch published:
    `ReconciliationError` means nothing became visible and the batch must not be committed.
    """
    # Parsed once and kept: the counts, the evaluation, the routing and both writes all read this cache.
    parsed = parse_json_lines(lines, schema).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        intake = _intake(parsed)
        typed = parsed.filter(F.col(MALFORMED_REASON).isNull()).select(*schema.column_names)
        results = evaluate(typed, ruleset)
        flagged = _flagged_values(results, schema, intake.read - intake.malformed)
        try:
            return _route_and_write(parsed, flagged, intake, results, schema, max_quarantine_fraction, sink)
        finally:
            flagged.frame.unpersist()
    finally:
        parsed.unpersist()


@dataclass(frozen=True)
class _Flagged:
    """The distinct typed values the row rules quarantine (with those rules), and how many rows had them."""

    frame: DataFrame
    rows: int


def _flagged_values(results: QualityResults, schema: TableSchema, well_formed: int) -> _Flagged:
    """One pass over the row results: the values to quarantine, kept, and a check that every record was judged.

    The row results carry the typed values, not the record's text; the text is joined back by value
    (`_route_and_write`). Row rules judge a record by its values alone, so records with equal values
    share their outcome, and keeping each value once keeps this small.
    """
    rule_reasons = quarantine_reasons(results.rule_outcomes)
    judged = Observation("judged")
    flagged = (
        results.row_outcomes.select(*schema.column_names, rule_reasons.alias(_REASONS))
        .observe(judged, F.count(F.lit(1)).alias("rows"), F.count_if(F.size(_REASONS) > 0).alias("flagged"))
        .filter(F.size(_REASONS) > 0)
        .dropDuplicates(list(schema.column_names))
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    flagged.count()
    counts = judged.get
    if counts["rows"] != well_formed:
        flagged.unpersist()
        raise ReconciliationError(
            f"the data quality row results hold {counts['rows']} rows for {well_formed} well-formed records"
        )
    return _Flagged(flagged, counts["flagged"])


def _routed(parsed: DataFrame, flagged: DataFrame, schema: TableSchema) -> DataFrame:
    """Every record with its text, typed values, the reasons that quarantine it (none: it is written),
    and whether a row rule flagged it; one pass over the parsed batch gives both writes."""
    keys = [f"_flagged_{index}" for index in range(len(schema.columns))]
    flagged_keys = flagged.select(*[F.col(name).alias(key) for name, key in zip(schema.column_names, keys)], F.col(_REASONS).alias("_rules"))
    well_formed = F.col(MALFORMED_REASON).isNull()
    # A malformed record's typed columns are all NULL: it must never take the rules of a flagged all-NULL record.
    matches = functools.reduce(lambda a, b: a & b, [F.col(name).eqNullSafe(F.col(key)) for name, key in zip(schema.column_names, keys)], well_formed)
    joined = parsed.join(flagged_keys, on=matches, how="left")
    reasons = F.coalesce(F.col("_rules"), F.array().cast("array<string>"))
    reasons = F.when(well_formed, reasons).otherwise(F.array(MALFORMED_REASON))
    return joined.select(
        F.col(RAW), F.col(SOURCE_OBJECT), F.col(SOURCE_MODIFIED_AT), *schema.column_names, reasons.alias(_REASONS),
        F.col("_rules").isNotNull().alias("_by_rule"),
    )


def _route_and_write(
    parsed: DataFrame,
    flagged: _Flagged,
    intake: _Intake,
    results: QualityResults,
    schema: TableSchema,
    max_fraction: float,
    sink: Sink,
) -> BatchReport:
    routed = _routed(parsed, flagged.frame, schema)
    is_quarantined = F.size(_REASONS) > 0
    # One pass gives the counts per source object (file and version): the quarantine limit, the
    # row-results check and, once the sink says which objects it holds, the plan of what is written.
    by_source = {
        row["_source"]: row
        for row in routed.groupBy(source_key().alias("_source"))
        .agg(F.count_if(is_quarantined).alias("quarantined"), F.count_if(~is_quarantined).alias("output"), F.count_if("_by_rule").alias("by_rule"))
        .collect()
    }
    by_rule = sum(counts["by_rule"] for counts in by_source.values())
    if by_rule != flagged.rows:
        raise ReconciliationError(
            f"{flagged.rows} rows failed a row rule, but {by_rule} records have their values: "
            "the row results do not carry the values the job read"
        )
    expected_quarantine = sum(counts["quarantined"] for counts in by_source.values())
    failures = batch_failures(results.rule_outcomes)
    if intake.read and expected_quarantine / intake.read > max_fraction:
        failures += (
            f"quarantined {expected_quarantine} of {intake.read} records "
            f"({expected_quarantine / intake.read:.1%}), above the limit of {max_fraction:.1%}",
        )

    def report(written: int, quarantined: int, problems: tuple[str, ...] = (), already: int = 0) -> BatchReport:
        return BatchReport(
            intake.read, written, quarantined, intake.malformed, intake.with_unknown_fields,
            intake.unknown_fields, results.rule_outcomes, max_fraction, problems, already,
        )

    if failures:
        # Nothing is written; the count of records that broke the rules still goes out with the
        # report (and its metrics), so the quarantined share that failed the batch can be seen.
        return report(0, expected_quarantine, failures)

    # A retry or rerun: objects an earlier attempt committed whole are left out. One it may have
    # cut off between its two commits (in the quarantine, its attempt's curated commit missing) is
    # routed again, and its quarantine rows are replaced in the same commit that adds the new ones:
    # a verdict that depends on the whole batch, such as IsPrimaryKey, may differ now.
    done, cut_off = sink.committed_sources(sorted(by_source))
    replacing = sorted(cut_off)
    pending_counts = [counts for key, counts in by_source.items() if key not in done]
    plan = {
        "quarantine": sum(counts["quarantined"] for counts in pending_counts),
        "output": sum(counts["output"] for counts in pending_counts),
        "already": sum(counts["quarantined"] + counts["output"] for key, counts in by_source.items() if key in done),
    }
    routed = routed.withColumn("_done", source_key().isin(sorted(done)))
    pending = routed.filter(~F.col("_done"))
    # Every quarantined record as it arrived (the line, or its object of the line), with its reasons.
    sources = (SOURCE_OBJECT, SOURCE_MODIFIED_AT)
    quarantine = pending.filter(is_quarantined).select(F.col(RAW).alias("record"), F.col(_REASONS).alias(REASONS), *sources)
    output = pending.filter(~is_quarantined).select(*schema.column_names, *sources)
    staged = {}
    if plan["quarantine"] or replacing:
        observed = Observation("quarantine")
        sink.write_quarantine(quarantine.observe(observed, F.count(F.lit(1)).alias("rows")), replacing)
        staged["quarantine"] = observed.get["rows"] if plan["quarantine"] else 0
    if plan["output"] or "quarantine" in staged:
        observed = Observation("output")
        sink.write_output(output.observe(observed, F.count(F.lit(1)).alias("rows")))
        staged["output"] = observed.get["rows"] if plan["output"] else 0
    quarantined, written = staged.get("quarantine", 0), staged.get("output", 0)
    if (quarantined, written) != (plan["quarantine"], plan["output"]) or intake.read != written + quarantined + plan["already"]:
        raise ReconciliationError(
            f"records do not reconcile: read {intake.read} != written {written} + quarantined {quarantined} "
            f"+ already committed {plan['already']} (planned {plan['output']} and {plan['quarantine']})"
        )
    sink.publish()
    return report(written, quarantined, already=plan["already"])
