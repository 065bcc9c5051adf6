"""One local SparkSession for every Glue-logic test."""

from __future__ import annotations

import collections
import os
import tempfile
import threading

import pytest

from gluescripts.etl.spark import local_spark_session


def pytest_collection_modifyitems(config, items):
    """`make mutation` judges the DQDL parser by its own fast tests (test_dqdl.py): a parser mutant
    would otherwise also run every Spark rule test, an order of magnitude slower, to learn little more."""
    if not os.environ.get("MUTANT_UNDER_TEST", "").startswith("gluescripts.etl.dqdl."):
        return
    spark_rules = [item for item in items if item.path.name == "test_rules.py"]
    if spark_rules:
        config.hook.pytest_deselected(items=spark_rules)
        items[:] = [item for item in items if item.path.name != "test_rules.py"]


def _configure_for_tests(session):
    # Tiny frames: planning and code generation cost more than they save.
    session.conf.set("spark.sql.adaptive.enabled", "false")
    session.conf.set("spark.sql.codegen.wholeStage", "false")
    return session


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    os.environ["TZ"] = "UTC"
    if "MUTANT_UNDER_TEST" in os.environ:
        yield _session_shared_by_mutation_workers()
        return
    os.environ["SPARK_MASTER"] = "local[1]"
    os.environ["SPARK_SHUFFLE_PARTITIONS"] = "1"
    os.environ["SPARK_SCRATCH_DIR"] = str(tmp_path_factory.mktemp("spark-scratch"))
    session = _configure_for_tests(local_spark_session("json-to-pq-tests"))
    yield session
    session.stop()


_mutation_run: dict = {}


def _session_shared_by_mutation_workers():
    """`make mutation` runs each mutant's tests in a process forked from mutmut's own, one pytest
    session each: starting Spark per mutant would cost more than the tests. So one session lives for
    the whole run (never stopped, never in a pytest-managed folder), and each forked worker talks to
    it over a py4j connection of its own, so concurrent or killed workers cannot garble each other's
    replies. The inherited connections are kept referenced: closing them would shut the parent's socket.
    """
    if "session" not in _mutation_run:
        os.environ["SPARK_MASTER"] = "local[2]"
        os.environ["SPARK_SHUFFLE_PARTITIONS"] = "1"
        os.environ["SPARK_SCRATCH_DIR"] = tempfile.mkdtemp(prefix="mutation-spark-")
        # A run of many minutes: the JVM's full JIT pays for its slower start.
        session = local_spark_session("json-to-pq-mutation", quick_start=False)
        _mutation_run.update(session=_configure_for_tests(session), pid=os.getpid())
    session = _mutation_run["session"]
    if _mutation_run["pid"] != os.getpid():
        client = session.sparkContext._gateway._gateway_client
        _mutation_run.setdefault("inherited", []).append((client.thread_connection, client.deque))
        client.thread_connection = threading.local()
        client.deque = collections.deque()
        _mutation_run["pid"] = os.getpid()
    return session


class MemorySink:
    """Collects what the job writes, in order, instead of writing files."""

    def __init__(self):
        self.events: list[str] = []
        self.output: list[dict] = []
        self.quarantine: list[dict] = []
        self.partition_column: str | None = None

    def write_quarantine(self, records):
        self.quarantine = [row.asDict(recursive=True) for row in records.collect()]
        self.events.append("quarantine")

    def write_output(self, records, partition_column):
        self.output = [row.asDict(recursive=True) for row in records.collect()]
        self.partition_column = partition_column
        self.events.append("output")


@pytest.fixture
def memory_sink():
    return MemorySink()
