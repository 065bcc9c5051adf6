"""The job's run, independent of where it runs: a `JobRuntime` supplies the Glue-only parts.

On Glue the runtime is `glue_runtime.GlueRuntime` (GlueContext, bookmarks, Glue Data Quality
publishing); tests supply a local stand-in that reads the same files.
"""

from __future__ import annotations

import json
import logging
from typing import Callable, Protocol

from pyspark.sql import DataFrame

from gluescripts.etl.arguments import resolve_arguments
from gluescripts.etl.bundled import RULESET_FILE, SCHEMA_FILE, bundled_text
from gluescripts.etl.dqdl import parse_ruleset
from gluescripts.etl.pipeline import BatchReport, Sink, process_batch
from gluescripts.etl.schema import load_schema

JOB_ARGUMENTS = ("JOB_NAME", "dbname", "table", "outputpath", "quarantinepath", "max_quarantine_fraction")
LOG = logging.getLogger("json_to_pq")


class JobFailed(RuntimeError):
    """The batch failed its data quality checks; raised so the run (and Step Functions) fails."""


class JobRuntime(Protocol):
    def read_new_records(self, database: str, table: str) -> DataFrame:
        """JSON lines not read by an earlier committed run, as a frame with a string column `value`."""

    def sink(self, output_path: str, quarantine_path: str) -> Sink:
        """Where passing and quarantined records are written."""

    def publish_results(self, records: DataFrame, ruleset: str) -> None:
        """Make the ruleset's outcome on `records` visible where the platform shows data quality."""

    def commit(self) -> None:
        """Mark the records read by this run as processed (job bookmarks)."""


def run_job(argv: list[str], runtime_factory: Callable[[dict[str, str]], JobRuntime]) -> BatchReport | None:
    """Run one batch; returns its report, or None when there was nothing new to read."""
    args = resolve_arguments(argv, JOB_ARGUMENTS, optional=("JOB_RUN_ID",))
    max_fraction = float(args["max_quarantine_fraction"])
    ruleset = bundled_text(RULESET_FILE)
    rules, schema = parse_ruleset(ruleset), load_schema(bundled_text(SCHEMA_FILE))
    runtime = runtime_factory(args)
    records = runtime.read_new_records(args["dbname"], args["table"])
    if records.isEmpty():
        LOG.info("no new records in %s.%s; nothing to do", args["dbname"], args["table"])
        runtime.commit()
        return None
    report = process_batch(
        records,
        schema,
        rules,
        max_fraction,
        runtime.sink(args["outputpath"], args["quarantinepath"]),
        on_evaluated=lambda typed: runtime.publish_results(typed, ruleset),
    )
    LOG.info("data quality report: %s", json.dumps(report.as_dict()))
    if not report.passed:
        raise JobFailed(f"{args['dbname']}.{args['table']}: " + "; ".join(report.failures))
    runtime.commit()
    LOG.info("read %d, written %d, quarantined %d", report.read, report.written, report.quarantined)
    return report
