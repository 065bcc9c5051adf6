"""A local SparkSession tuned for laptops and tests (Glue builds its own session)."""

from __future__ import annotations

import os
import sys
import tempfile

from pyspark.sql import SparkSession

from gluescripts.etl.session_settings import pin_session_settings


def local_spark_session(app_name: str = "json-to-pq-local", quick_start: bool = True) -> SparkSession:
    """One small, quiet local session, with the job's pinned settings (`session_settings`).

    `quick_start` limits the JIT to its first tier, which halves start-up and test time but slows
    long runs; benchmarks turn it off.
    """
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    scratch = os.environ.get("SPARK_SCRATCH_DIR") or tempfile.gettempdir()
    java_options = f"-Djava.io.tmpdir={scratch}" + (" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC" if quick_start else "")
    session = (
        SparkSession.builder.master(os.environ.get("SPARK_MASTER", "local[2]"))
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", os.environ.get("SPARK_SHUFFLE_PARTITIONS", "4"))
        .config("spark.local.dir", scratch)
        .config("spark.driver.extraJavaOptions", java_options)
        .config("spark.sql.sources.partitionOverwriteMode", "static")
        # The job caches each parsed batch once; uncompressed, that costs a fraction of a re-parse.
        .config("spark.sql.inMemoryColumnarStorage.compressed", "false")
        .getOrCreate()
    )
    pin_session_settings(session)
    session.sparkContext.setLogLevel("ERROR")
    return session
