"""One local SparkSession for every Glue-logic test."""

from __future__ import annotations

import os

import pytest

from gluescripts.etl.spark import local_spark_session


# The test session's Spark: one core, one shuffle partition, UTC (tools/mutation.py starts its own so).
LOCAL_SPARK_ENVIRONMENT = {"TZ": "UTC", "SPARK_MASTER": "local[1]", "SPARK_SHUFFLE_PARTITIONS": "1"}


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    os.environ.update(LOCAL_SPARK_ENVIRONMENT)
    os.environ["SPARK_SCRATCH_DIR"] = str(tmp_path_factory.mktemp("spark-scratch"))
    session = local_spark_session("json-to-pq-tests")
    # Tiny frames: planning and code generation cost more than they save. NO_CODEGEN evaluates every
    # expression interpreted, which Spark's own tests hold to the same results as generated code
    # (the job on Glue, `make run-local` and `make bench` keep code generation); a fifth off these tests.
    session.conf.set("spark.sql.adaptive.enabled", "false")
    session.conf.set("spark.sql.codegen.wholeStage", "false")
    session.conf.set("spark.sql.codegen.factoryMode", "NO_CODEGEN")
    yield session
    session.stop()


def lines_frame(spark, lines, kind: str = "string"):
    """Lines as an in-memory frame, as a reader gives them but without a file: source "" and no version."""
    return spark.createDataFrame(
        [(line, "", None) for line in lines], f"value {kind}, source_object string, source_modified_at timestamp"
    )


class MemorySink:
    """Collects what the job stages and publishes, in order, instead of writing tables.

    `held` names the source objects (keys) committed whole and those cut off, as an earlier
    attempt leaves them.
    """

    def __init__(self, held: tuple[set[str], set[str]] = (set(), set())):
        self.events: list[str] = []
        self.output: list[dict] = []
        self.quarantine: list[dict] = []
        self.held = held

    def committed_sources(self, keys):
        self.events.append("committed_sources")
        return self.held[0] & set(keys), self.held[1] & set(keys)

    def write_quarantine(self, records, replacing):
        self.quarantine = [row.asDict(recursive=True) for row in records.collect()]
        self.replaced = list(replacing)
        self.events.append("quarantine")

    def write_output(self, records):
        self.output = [row.asDict(recursive=True) for row in records.collect()]
        self.events.append("output")

    def publish(self):
        self.events.append("publish")


@pytest.fixture
def memory_sink():
    return MemorySink()
