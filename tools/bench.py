"""`make bench`: the full job logic (local data quality engine) against a plain Spark JSON-to-Iceberg append on the same 1,000,000 records.

Both run in one Spark session on the same files, twice each after a warm-up; the best time of each
is compared. Target: the full job at most 2.0 x the plain conversion. The parse alone is timed too:
Spark's lenient JSON reader against the job's strict intake, which is what strictness costs.
"""

from __future__ import annotations

import argparse
import shutil
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from pyspark.sql import types as T

from gluescripts.etl.bundled import RULESET_FILE, SCHEMA_FILE, bundled_text
from gluescripts.etl.evaluate import evaluate_locally
from gluescripts.etl.iceberg_sink import IcebergSink, TableLocation
from gluescripts.etl.local_io import read_json_lines
from gluescripts.etl.pipeline import process_batch
from gluescripts.etl.schema import load_schema, parse_json_lines, spark_type
from gluescripts.etl.spark import local_spark_session, register_local_catalog
from tools.synthetic_complaints import write_files

TARGET_RATIO = 2.0


def _spark_schema(schema) -> T.StructType:
    return T.StructType([T.StructField(c.name, spark_type(c.type)) for c in schema.columns])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--workdir", default="bench-data")
    args = parser.parse_args()

    workdir = Path(args.workdir).resolve()
    source = workdir / f"input-{args.records}"
    if not source.exists():
        started = time.perf_counter()
        write_files(source, args.records, files=8, bad_fraction=0.02, seed=42)
        print(f"generated {args.records:,} records in {time.perf_counter() - started:.1f} s")
    size_mb = sum(p.stat().st_size for p in source.iterdir()) / 1e6

    schema, ruleset = load_schema(bundled_text(SCHEMA_FILE)), bundled_text(RULESET_FILE)
    spark = local_spark_session("json-to-pq-bench", quick_start=False)

    def fresh_catalog(name: str) -> str:
        """A new, empty warehouse for each timed run: every run commits to new tables."""
        shutil.rmtree(workdir / name, ignore_errors=True)
        return register_local_catalog(spark, f"{name}_{uuid.uuid4().hex[:8]}", str(workdir / name))

    def plain() -> None:
        catalog = fresh_catalog("plain")
        spark.read.schema(_spark_schema(schema)).json(str(source)).writeTo(f"{catalog}.bench.plain").using("iceberg").create()

    def full() -> None:
        catalog = fresh_catalog("full")
        sink = IcebergSink(
            spark, schema, TableLocation(f"{catalog}.bench.curated"), TableLocation(f"{catalog}.bench.quarantine"),
            "bench", datetime.now(timezone.utc),
        )
        sink.ensure_tables()
        report = process_batch(read_json_lines(spark, str(source)), schema, ruleset, evaluate_locally, 1.0, sink)
        assert report.read == report.written + report.quarantined == args.records

    def lenient_parse() -> None:
        spark.read.schema(_spark_schema(schema)).json(str(source)).write.format("noop").mode("overwrite").save()

    def strict_parse() -> None:
        parse_json_lines(read_json_lines(spark, str(source)), schema).write.format("noop").mode("overwrite").save()

    def timed(run) -> float:
        started = time.perf_counter()
        run()
        return time.perf_counter() - started

    timed(plain)  # warm-up: JIT, file cache
    plain_s = min(timed(plain), timed(plain))
    full_s = min(timed(full), timed(full))
    lenient_s = min(timed(lenient_parse), timed(lenient_parse))
    strict_s = min(timed(strict_parse), timed(strict_parse))
    spark.stop()
    ratio = full_s / plain_s
    print(f"input: {args.records:,} records, {size_mb:.0f} MB of JSON lines")
    print(f"plain JSON -> Iceberg: {plain_s:6.2f} s")
    print(f"full job logic:        {full_s:6.2f} s")
    print(f"parse only, Spark's JSON reader: {lenient_s:6.2f} s")
    print(f"parse only, strict intake:      {strict_s:6.2f} s")
    print(f"ratio: {ratio:.2f} x (target <= {TARGET_RATIO} x): {'met' if ratio <= TARGET_RATIO else 'NOT met'}")


if __name__ == "__main__":
    main()
