"""Run the job's data logic on local files: `python -m gluescripts.run_local --input DIR --output DIR`.

The same code path as the Glue job after its read, with the local data quality engine standing in
for Glue Data Quality. `--schema` and `--ruleset` try a table of your own (defaults: the bundled
gluescripts/schema.json and ruleset.dqdl); `--reference ALIAS=PATH` gives the rules that compare data
sets (ReferentialIntegrity, RowCountMatch, DatasetMatch, SchemaMatch, AggregateMatch) their other
data set, as Glue's `additional_data_sources` does; without it they are not evaluated. Commits the batch to two Iceberg tables in OUTPUT/warehouse
(a `hadoop` catalog, the Iceberg version Glue 5.0 runs): pipeline.curated and pipeline.quarantine,
as the job does to the Glue Data Catalog. A rerun appends only what the tables do not hold yet, so
running twice on the same input commits nothing the second time. Writes OUTPUT/dq_report.json,
prints a summary, and exits 0 when the batch passes, 1 with a one-line reason when it fails, and
2 on bad arguments.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import re
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from gluescripts.etl.bundled import RULESET_FILE, SCHEMA_FILE, bundled_text
from gluescripts.etl.dqdl import DqdlError, parse_ruleset
from gluescripts.etl.evaluate import PRIMARY_ALIAS, EvaluationError, evaluate_locally
from gluescripts.etl.metrics import run_metrics
from gluescripts.etl.pipeline import BatchReport, process_batch
from gluescripts.etl.quality import NOT_EVALUATED_LOCALLY
from gluescripts.etl.schema import SchemaError, load_schema

DEFAULT_MAX_QUARANTINE_FRACTION = 0.1
REPORT_FILE = "dq_report.json"
WAREHOUSE = "warehouse"
CURATED_TABLE, QUARANTINE_TABLE = "pipeline.curated", "pipeline.quarantine"


class UsageError(Exception):
    """A bad argument, reported in one line."""


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m gluescripts.run_local", description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="folder of JSON-lines files (read recursively)")
    parser.add_argument("--output", required=True, help="folder for warehouse/ (the Iceberg tables) and dq_report.json")
    parser.add_argument("--schema", help="schema file (default: the bundled gluescripts/schema.json)")
    parser.add_argument("--ruleset", help="DQDL file (default: the bundled gluescripts/ruleset.dqdl)")
    parser.add_argument("--max-quarantine-fraction", type=float, default=DEFAULT_MAX_QUARANTINE_FRACTION)
    parser.add_argument(
        "--reference", action="append", default=[], metavar="ALIAS=PATH",
        help="a data set the rules name by ALIAS (JSON lines: a file or a folder); repeatable",
    )
    return parser.parse_args(argv)


def _references(options: list[str]) -> dict[str, Path]:
    references = {}
    for option in options:
        alias, separator, path = option.partition("=")
        if not separator or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", alias) or not path:
            raise UsageError(f"--reference {option}: expected ALIAS=PATH, ALIAS a name such as reference")
        if alias == PRIMARY_ALIAS or alias in references:
            raise UsageError(f"--reference {option}: the alias {alias} is {'the batch itself' if alias == PRIMARY_ALIAS else 'given twice'}")
        if not Path(path).exists():
            raise UsageError(f"--reference {option}: no such file or directory")
        references[alias] = Path(path).resolve()
    return references


def _input_files(input_dir: Path) -> list[Path]:
    if not input_dir.is_dir():
        raise UsageError(f"--input {input_dir}: no such directory")
    files = [p for p in sorted(input_dir.rglob("*")) if p.is_file() and not p.name.startswith((".", "_"))]
    if not files or all(p.stat().st_size == 0 for p in files):
        raise UsageError(f"--input {input_dir}: no JSON-lines files (or only empty ones) under it")
    return files


def _file_text(option: str, path: str | None, bundled: str) -> str:
    if path is None:
        return bundled_text(bundled)
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as problem:
        raise UsageError(f"{option} {path}: cannot read it ({problem.__class__.__name__}: {problem})") from None


def table_path(output: str | Path, table: str) -> Path:
    """Where a table of the local warehouse keeps its files (a `hadoop` catalog: <warehouse>/<database>/<table>)."""
    return Path(output).resolve() / WAREHOUSE / Path(*table.split("."))


def summary(report: BatchReport) -> str:
    lines = [
        f"records read {report.read}: written {report.written}, quarantined {report.quarantined} "
        f"(malformed {report.malformed}, with unknown fields {report.with_unknown_fields}); "
        f"already committed by an earlier run {report.already_committed}",
    ]
    if report.unknown_fields:
        lines.append(f"fields not in the schema (not written): {', '.join(report.unknown_fields)}")
    lines.append(f"{'outcome':<21} {'level':<8} {'metric':>10}  rule")
    for outcome in report.rules:
        shown = "not evaluated locally" if outcome.outcome == NOT_EVALUATED_LOCALLY else outcome.outcome
        metric = next(iter(outcome.evaluated_metrics.values()), None)
        lines.append(f"{shown:<21} {outcome.level:<8} {'' if metric is None else f'{metric:g}':>10}  {outcome.rule}")
    lines.append("PASSED" if report.passed else "FAILED: " + "; ".join(report.failures))
    return "\n".join(lines)


def run(argv: list[str]) -> int:
    args = _arguments(argv)
    _input_files(Path(args.input))
    if not 0 <= args.max_quarantine_fraction <= 1:
        raise UsageError(f"--max-quarantine-fraction {args.max_quarantine_fraction}: expected a number from 0 to 1")
    references = _references(args.reference)
    ruleset_source = args.ruleset or f"bundled {RULESET_FILE}"
    ruleset = _file_text("--ruleset", args.ruleset, RULESET_FILE)
    try:
        parse_ruleset(ruleset)
    except DqdlError as problem:
        raise UsageError(f"--ruleset {ruleset_source}: {problem}") from None
    try:
        schema = load_schema(_file_text("--schema", args.schema, SCHEMA_FILE))
    except SchemaError as problem:
        raise UsageError(f"--schema {args.schema or f'bundled {SCHEMA_FILE}'}: {problem}") from None

    from pyspark.sql import SparkSession

    from gluescripts.etl.iceberg_sink import IcebergSink, TableLocation
    from gluescripts.etl.local_io import read_json_lines
    from gluescripts.etl.spark import local_spark_session, register_local_catalog

    # A caller's session (as in the tests) is borrowed and left running; our own is stopped.
    owns_session = SparkSession.getActiveSession() is None
    started = time.monotonic()
    spark = local_spark_session()
    output = Path(args.output).resolve()
    # One catalog name per warehouse folder: Spark keeps a catalog for the session once it is used.
    catalog = register_local_catalog(spark, f"local_{hashlib.sha256(str(output).encode()).hexdigest()[:8]}", str(output / WAREHOUSE))
    sink = IcebergSink(
        spark, schema, TableLocation(f"{catalog}.{CURATED_TABLE}"), TableLocation(f"{catalog}.{QUARANTINE_TABLE}"),
        f"local-{uuid.uuid4().hex[:12]}", datetime.now(timezone.utc),
    )
    try:
        sink.ensure_tables()
        report = process_batch(
            read_json_lines(spark, str(Path(args.input).resolve())), schema, ruleset,
            functools.partial(evaluate_locally, reference_data={alias: spark.read.json(str(path)) for alias, path in references.items()}),
            args.max_quarantine_fraction, sink,
        )
    except EvaluationError as problem:
        raise UsageError(f"--ruleset {ruleset_source}: {problem}") from None
    finally:
        if owns_session:
            spark.stop()
    Path(args.output).mkdir(parents=True, exist_ok=True)
    (Path(args.output) / REPORT_FILE).write_text(json.dumps(report.as_dict(), indent=2) + "\n")
    print(summary(report))
    # What the Glue job would publish to CloudWatch for this run (namespace GlueEtlPipeline).
    print("metrics: " + json.dumps(run_metrics("local", time.monotonic() - started, report.metric_counts())))
    if not report.passed:
        print(f"error: batch failed: {report.failures[0]}", file=sys.stderr)
        return 1
    return 0


def main() -> None:
    try:
        sys.exit(run(sys.argv[1:]))
    except UsageError as problem:
        print(f"error: {problem}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    os.environ.setdefault("TZ", "UTC")
    main()
