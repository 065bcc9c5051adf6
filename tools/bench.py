"""`make bench`: the full job logic (local data quality engine) against a plain Spark JSON-to-Iceberg append on the same 1,000,000 records.

Both run in one Spark session on the same files, twice each after a warm-up; the best time of each
is compared. Target: the full job at most 2.0 x the plain conversion. The parse alone is timed too:
Spark's lenient JSON reader against the job's strict intake, which is what strictness costs.

The full job's best run is split into stages at its seams (the evaluator and the sink), so no
library code is instrumented: parse (strict intake, cache, counts), evaluate (AWS's DQDL engine
computing its metrics; its row results are computed lazily, in the next stage), route (row results,
reasons, the plan and its counts), write (staging both tables) and commit (publishing them). Peak
memory: the JVM's heap (driver and executor share it in local mode), the driver's Python and the
largest Python worker. `--scaling 100000 1000000 3000000` times one run of each at those sizes.
"""

from __future__ import annotations

import argparse
import os
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


class StageClock:
    """Times the stages of one batch from the calls it makes across its seams."""

    STAGES = ("parse", "evaluate", "route", "write", "commit")

    def __init__(self, sink) -> None:
        self.sink, self.marks = sink, [time.perf_counter()]

    def mark(self) -> None:
        self.marks.append(time.perf_counter())

    def evaluate(self, records, ruleset):
        self.mark()
        try:
            return evaluate_locally(records, ruleset)
        finally:
            self.mark()

    def committed_sources(self, keys):
        return self.sink.committed_sources(keys)

    def write_quarantine(self, records, replacing):
        self._first_write()
        self.sink.write_quarantine(records, replacing)

    def write_output(self, records):
        self._first_write()
        self.sink.write_output(records)

    def publish(self):
        self.mark()
        self.sink.publish()
        self.mark()

    def _first_write(self) -> None:
        if len(self.marks) == 3:
            self.mark()

    def seconds(self) -> dict[str, float]:
        return {stage: end - start for stage, start, end in zip(self.STAGES, self.marks, self.marks[1:])}


def _peak_resident_mib() -> dict[str, float]:
    """Peak resident memory (VmHWM) of this Python, the Spark JVM and the largest Python worker (Linux)."""
    peaks = {"driver Python": 0.0, "JVM": 0.0, "largest Python worker": 0.0}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            command = (status.parent / "cmdline").read_bytes().replace(b"\0", b" ")
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        peak = int(fields.get("VmHWM", "0 kB").split()[0]) / 1024
        if int(status.parent.name) == os.getpid():
            kind = "driver Python"
        elif b"org.apache.spark.deploy.SparkSubmit" in command:
            kind = "JVM"
        elif b"pyspark.daemon" in command or b"pyspark.worker" in command:
            kind = "largest Python worker"
        else:
            continue
        peaks[kind] = max(peaks[kind], peak)
    return peaks


def _jvm_heap_pools(spark):
    management = spark._jvm.java.lang.management.ManagementFactory
    return [pool for pool in management.getMemoryPoolMXBeans() if str(pool.getType()) == "Heap memory"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--workdir", default="bench-data")
    parser.add_argument("--scaling", type=int, nargs="+", metavar="RECORDS", help="time one run of each at these sizes instead")
    args = parser.parse_args()

    workdir = Path(args.workdir).resolve()

    def input_files(records: int) -> Path:
        source = workdir / f"input-{records}"
        if not source.exists():
            started = time.perf_counter()
            write_files(source, records, files=8, bad_fraction=0.02, seed=42)
            print(f"generated {records:,} records in {time.perf_counter() - started:.1f} s")
        return source

    source = input_files(args.records)
    size_mb = sum(p.stat().st_size for p in source.iterdir()) / 1e6

    schema, ruleset = load_schema(bundled_text(SCHEMA_FILE)), bundled_text(RULESET_FILE)
    # 4 GiB of heap: the default 1 GiB runs out caching a batch of 3,000,000 records (--scaling).
    spark = local_spark_session("json-to-pq-bench", quick_start=False, driver_memory="4g")

    def fresh_catalog(name: str) -> str:
        """A new, empty warehouse for each timed run: every run commits to new tables."""
        shutil.rmtree(workdir / name, ignore_errors=True)
        return register_local_catalog(spark, f"{name}_{uuid.uuid4().hex[:8]}", str(workdir / name))

    def plain() -> None:
        plain_of(source)

    stages = {}

    def full(files: Path = source) -> None:
        catalog = fresh_catalog("full")
        sink = IcebergSink(
            spark, schema, TableLocation(f"{catalog}.bench.curated"), TableLocation(f"{catalog}.bench.quarantine"),
            "bench", datetime.now(timezone.utc),
        )
        sink.ensure_tables()
        clock = StageClock(sink)
        report = process_batch(read_json_lines(spark, str(files)), schema, ruleset, clock.evaluate, 1.0, clock)
        assert report.read == report.written + report.quarantined
        stages[sum(clock.seconds().values())] = clock.seconds()

    def plain_of(files: Path) -> None:
        catalog = fresh_catalog("plain")
        spark.read.schema(_spark_schema(schema)).json(str(files)).writeTo(f"{catalog}.bench.plain").using("iceberg").create()

    def lenient_parse() -> None:
        spark.read.schema(_spark_schema(schema)).json(str(source)).write.format("noop").mode("overwrite").save()

    def strict_parse() -> None:
        parse_json_lines(read_json_lines(spark, str(source)), schema).write.format("noop").mode("overwrite").save()

    def timed(run) -> float:
        started = time.perf_counter()
        run()
        return time.perf_counter() - started

    timed(plain)  # warm-up: JIT, file cache
    if args.scaling:
        full(input_files(min(args.scaling)))  # warm-up of the job's own path
        print(f"{'records':>10} {'plain s':>8} {'full s':>8} {'ratio':>6} {'full us/record':>15}")
        for records in args.scaling:
            files = input_files(records)
            plain_s, full_s = timed(lambda: plain_of(files)), timed(lambda: full(files))
            print(f"{records:>10,} {plain_s:8.2f} {full_s:8.2f} {full_s / plain_s:6.2f} {full_s / records * 1e6:15.1f}")
        spark.stop()
        return
    plain_s = min(timed(plain), timed(plain))
    for pool in _jvm_heap_pools(spark):
        pool.resetPeakUsage()
    full_s = min(timed(full), timed(full))
    jvm_heap_peak_mb = sum(pool.getPeakUsage().getUsed() for pool in _jvm_heap_pools(spark)) / 2**20
    resident = _peak_resident_mib()
    lenient_s = min(timed(lenient_parse), timed(lenient_parse))
    strict_s = min(timed(strict_parse), timed(strict_parse))
    spark.stop()
    ratio = full_s / plain_s
    print(f"input: {args.records:,} records, {size_mb:.0f} MB of JSON lines")
    print(f"plain JSON -> Iceberg: {plain_s:6.2f} s")
    print(f"full job logic:        {full_s:6.2f} s")
    best = stages[min(stages)]
    print("  " + ", ".join(f"{stage} {seconds:.2f} s" for stage, seconds in best.items()))
    print(
        f"peak memory: JVM heap {jvm_heap_peak_mb:,.0f} MiB (driver and executor share it); peak resident "
        + ", ".join(f"{kind} {mib:,.0f} MiB" for kind, mib in resident.items())
    )
    print(f"parse only, Spark's JSON reader: {lenient_s:6.2f} s")
    print(f"parse only, strict intake:      {strict_s:6.2f} s")
    print(f"ratio: {ratio:.2f} x (target <= {TARGET_RATIO} x): {'met' if ratio <= TARGET_RATIO else 'NOT met'}")


if __name__ == "__main__":
    main()
