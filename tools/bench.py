"""`make bench`: the full job logic (local data quality engine) against plain Spark JSON-to-Parquet on the same 1,000,000 records.

Both run in one Spark session on the same files, twice each after a warm-up; the best time of each
is compared. Target: the full job at most 2.0 x the plain conversion. The parse alone is timed too:
Spark's lenient JSON reader against the job's strict intake, which is what strictness costs.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from pyspark.sql import types as T

from gluescripts.etl.bundled import RULESET_FILE, SCHEMA_FILE, bundled_text
from gluescripts.etl.evaluate import evaluate_locally
from gluescripts.etl.local_io import DirectorySink, read_json_lines
from gluescripts.etl.pipeline import process_batch
from gluescripts.etl.schema import load_schema, parse_json_lines, spark_type
from gluescripts.etl.spark import local_spark_session
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

    def plain() -> None:
        target = workdir / "plain"
        shutil.rmtree(target, ignore_errors=True)
        spark.read.schema(_spark_schema(schema)).json(str(source)).write.option("compression", "snappy").parquet(str(target))

    def full() -> None:
        target = workdir / "full"
        shutil.rmtree(target, ignore_errors=True)
        lines = read_json_lines(spark, str(source))
        report = process_batch(lines, schema, ruleset, evaluate_locally, 1.0, DirectorySink(str(target)))
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
    print(f"plain JSON -> Parquet: {plain_s:6.2f} s")
    print(f"full job logic:        {full_s:6.2f} s")
    print(f"parse only, Spark's JSON reader: {lenient_s:6.2f} s")
    print(f"parse only, strict intake:      {strict_s:6.2f} s")
    print(f"ratio: {ratio:.2f} x (target <= {TARGET_RATIO} x): {'met' if ratio <= TARGET_RATIO else 'NOT met'}")


if __name__ == "__main__":
    main()
