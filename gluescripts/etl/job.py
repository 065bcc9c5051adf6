"""The job's run, independent of where it runs: a `JobRuntime` supplies the Glue-only parts.

On Glue the runtime is `glue_runtime.GlueRuntime` (GlueContext, job bookmarks, Glue Data Quality);
the tests supply stand-ins for Glue's JVM-backed classes only. Arguments are resolved by Glue's
own `awsglue.utils.getResolvedOptions`, and its whole result goes to the runtime (and `job.init`).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timezone
from typing import Callable, Protocol

from awsglue.utils import getResolvedOptions  # type: ignore[import-not-found]
from pyspark.sql import DataFrame

from gluescripts.etl.bundled import RULESET_FILE, SCHEMA_FILE, bundled_text
from gluescripts.etl.errors import DataQualityFailed
from gluescripts.etl.metrics import (
    BATCHES_FAILED, RECORDS_MALFORMED, RECORDS_QUARANTINED, RECORDS_READ, RECORDS_WITH_UNKNOWN_FIELDS, RECORDS_WRITTEN, run_metrics,
)
from gluescripts.etl.iceberg_sink import IcebergSink
from gluescripts.etl.pipeline import BatchReport, process_batch
from gluescripts.etl.quality import QualityResults
from gluescripts.etl.schema import TableSchema, load_schema

# Glue adds JOB_ID, JOB_RUN_ID, SECURITY_CONFIGURATION, TempDir and the bookmark option itself;
# naming them here would make getResolvedOptions reject them as reserved.
JOB_ARGUMENTS = [
    "JOB_NAME", "environment", "dbname", "table", "outputpath", "quarantinepath", "max_quarantine_fraction", "max_bytes_per_run",
    "catalog", "curated_table", "quarantine_table",
]
LOG = logging.getLogger("json_to_pq")
COUNTS = (RECORDS_READ, RECORDS_WRITTEN, RECORDS_QUARANTINED, RECORDS_MALFORMED, RECORDS_WITH_UNKNOWN_FIELDS)


class JobRuntime(Protocol):
    def read_new_records(self, database: str, table: str) -> DataFrame:
        """JSON lines not read by an earlier committed run: `value`, and the `source_object` and
        `source_modified_at` of each (`schema.lines_with_source`)."""

    def evaluate(self, records: DataFrame, ruleset: str) -> QualityResults:
        """Evaluate the ruleset once on the well-formed typed records, publishing where the platform shows results."""

    def sink(self, schema: TableSchema, started: datetime) -> IcebergSink:
        """The curated and quarantine tables, for a run that started at `started` (UTC)."""

    def commit(self) -> None:
        """Mark the records read by this run as processed (job bookmarks)."""

    def publish_metrics(self, metric_data: list[dict]) -> None:
        """Publish the run's metrics (CloudWatch PutMetricData's MetricData) in one call."""


def _maintain(sink: IcebergSink) -> None:
    """The tables' daily maintenance. The batch is committed by now: a failure here is logged, not raised."""
    try:
        for table in sink.maintain():
            LOG.info("maintained %s: small files compacted, old snapshots expired, orphan files removed", table)
    except Exception:
        LOG.exception("the tables' maintenance failed; the next run tries again")


def run_job(argv: list[str], runtime_factory: Callable[[dict], JobRuntime]) -> BatchReport | None:
    """Run one batch; returns its report, or None when there was nothing new to read.

    Raises `DataQualityFailed` (nothing written, nothing committed) when the batch fails its checks.
    """
    started, started_at = time.monotonic(), datetime.now(timezone.utc)
    args = getResolvedOptions(argv, JOB_ARGUMENTS)
    max_fraction = float(args["max_quarantine_fraction"])
    ruleset, schema = bundled_text(RULESET_FILE), load_schema(bundled_text(SCHEMA_FILE))
    runtime = runtime_factory(args)
    table = f"{args['dbname']}.{args['table']}"
    sink = runtime.sink(schema, started_at)
    # Created on the first run, and given the columns schema.json gained, before anything is read.
    sink.ensure_tables()
    records = runtime.read_new_records(args["dbname"], args["table"])
    if records.isEmpty():
        LOG.info("no new records in %s; nothing to do", table)
        runtime.commit()
        # Published all the same: the freshness alarm tells "ran, found nothing" from "never ran".
        runtime.publish_metrics(
            run_metrics(args["environment"], time.monotonic() - started, {**dict.fromkeys(COUNTS, 0), BATCHES_FAILED: 0})
        )
        return None
    report = process_batch(records, schema, ruleset, runtime.evaluate, max_fraction, sink)
    LOG.info("data quality report: %s", json.dumps(report.as_dict()))
    if report.unknown_fields:
        LOG.warning(
            "%d records of %s carry fields the schema does not declare (kept out of the output): %s",
            report.with_unknown_fields, table, ", ".join(report.unknown_fields),
        )
    if not report.passed:
        # Published before the verdict is raised, so the dashboard shows the share that failed the batch.
        runtime.publish_metrics(
            run_metrics(args["environment"], time.monotonic() - started, {**report.metric_counts(), BATCHES_FAILED: 1})
        )
        raise DataQualityFailed(f"{table}: " + "; ".join(report.failures))
    runtime.commit()
    LOG.info("read %d, written %d, quarantined %d", report.read, report.written, report.quarantined)
    runtime.publish_metrics(
        run_metrics(args["environment"], time.monotonic() - started, {**report.metric_counts(), BATCHES_FAILED: 0})
    )
    # Last: the batch and its metrics are out, whatever maintenance meets.
    _maintain(sink)
    return report
