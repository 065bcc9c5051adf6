"""A local SparkSession tuned for laptops and tests (Glue builds its own session)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from pyspark.sql import SparkSession

from gluescripts.etl.session_settings import pin_session_settings

# Fetched by `make jars` (and so by `make test`, `make run-local`, `make bench`), pinned in jars.sha256.
JARS = Path(__file__).resolve().parents[2] / ".jars"
ICEBERG_RUNTIME_JAR = JARS / "iceberg-spark-runtime-3.5_2.12-1.7.1.jar"
# AWS's DQDL engine and its parser (software.amazon.glue:dqdl): the local data quality evaluator.
DQDL_ENGINE_JARS = (JARS / "deequ-2.1.0-spark-3.5.jar", JARS / "dqdl-1.0.0.jar")
ICEBERG_EXTENSIONS = "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"


class MissingJar(RuntimeError):
    """A jar local Spark needs is not where `make jars` puts it."""


def register_local_catalog(spark: SparkSession, name: str, warehouse: str) -> str:
    """An Iceberg catalog `name` keeping its tables in the folder `warehouse` (Iceberg's `hadoop` type).

    Spark loads a catalog from the session's settings the first time its name is used, so each
    run (and test) can register its own.
    """
    spark.conf.set(f"spark.sql.catalog.{name}", "org.apache.iceberg.spark.SparkCatalog")
    spark.conf.set(f"spark.sql.catalog.{name}.type", "hadoop")
    spark.conf.set(f"spark.sql.catalog.{name}.warehouse", warehouse)
    return name


def local_spark_session(app_name: str = "json-to-pq-local", quick_start: bool = True, driver_memory: str = "1g") -> SparkSession:
    """One small, quiet local session, with the job's pinned settings (`session_settings`).

    `quick_start` limits the JIT to its first tier, which halves start-up and test time but slows
    long runs; benchmarks turn it off. `driver_memory` is the one JVM's heap (driver and executor in
    local mode): Spark's default, 1g, holds about a million records' batch; larger runs need more.
    """
    jars = [ICEBERG_RUNTIME_JAR, *DQDL_ENGINE_JARS]
    for jar in jars:
        if not jar.is_file():
            raise MissingJar(f"{jar}: a jar local Spark needs is missing; run `make jars` (make test and make run-local do it)")
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    scratch = os.environ.get("SPARK_SCRATCH_DIR") or tempfile.gettempdir()
    java_options = f"-Djava.io.tmpdir={scratch}" + (" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC" if quick_start else "")
    session = (
        SparkSession.builder.master(os.environ.get("SPARK_MASTER", "local[2]"))
        .appName(app_name)
        .config("spark.driver.memory", driver_memory)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", os.environ.get("SPARK_SHUFFLE_PARTITIONS", "4"))
        .config("spark.local.dir", scratch)
        .config("spark.driver.extraJavaOptions", java_options)
        .config("spark.sql.sources.partitionOverwriteMode", "static")
        # As the job's Glue session gets them (--conf): Iceberg's SQL extensions (procedures, ALTER ... PARTITION FIELD).
        .config("spark.jars", ",".join(str(path) for path in jars))
        .config("spark.sql.extensions", ICEBERG_EXTENSIONS)
        # The job caches each parsed batch once; uncompressed, that costs a fraction of a re-parse.
        .config("spark.sql.inMemoryColumnarStorage.compressed", "false")
        .getOrCreate()
    )
    pin_session_settings(session)
    session.sparkContext.setLogLevel("ERROR")
    return session
