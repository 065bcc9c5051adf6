"""The Glue-only seam's reader and sink, with stand-ins for the JVM-backed awsglue classes and moto's catalog.

The whole run through this seam, as Glue starts it, is in test_entrypoint.py.
"""

from __future__ import annotations

import importlib
import json
import types

import awsglue.context
import awsglue.job
import boto3
import pytest
from moto import mock_aws


class FakeGlueContext:
    """Records how the seam calls GlueContext and hands back lines as Glue's CSV reader would."""

    def __init__(self, spark, lines):
        self.calls = []
        self.spark_session = spark
        outer = self

        class Reader:
            def from_options(self, **options):
                outer.calls.append(options)
                separator = options["format_options"]["separator"]
                # Glue's CSV reader splits on the separator and may type a column as a number.
                rows = [tuple(line.split(separator)) + (None,) * (2 - len(line.split(separator))) for line in lines]
                frame = spark.createDataFrame(rows, "col0 string, col1 string")
                return types.SimpleNamespace(toDF=lambda: frame)

        self.create_dynamic_frame = Reader()


@pytest.fixture
def seam(spark, monkeypatch):
    events = []
    lines = ['{"a": 1}', 'odd\u0001line', '7']

    class Job:
        def __init__(self, context):
            events.append("job")

        def init(self, name, args):
            events.append(("init", name))

        def commit(self):
            events.append("commit")

    context = FakeGlueContext(spark, lines)
    monkeypatch.setattr(awsglue.context, "GlueContext", lambda sc: context)
    monkeypatch.setattr(awsglue.job, "Job", Job)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    # Reloaded per test: the module binds the awsglue names when it is imported.
    glue_runtime = importlib.reload(importlib.import_module("gluescripts.etl.glue_runtime"))
    with mock_aws():
        glue = boto3.client("glue")
        glue.create_database(DatabaseInput={"Name": "travel"})
        glue.create_table(
            DatabaseName="travel",
            TableInput={"Name": "complaints", "StorageDescriptor": {"Location": "s3://raw/complaints/"}},
        )
        runtime = glue_runtime.GlueRuntime({"JOB_NAME": "json-to-pq-prod", "JOB_RUN_ID": "jr_42"})
        yield runtime, context, events


def test_reads_the_tables_location_as_whole_lines_with_a_bookmark_context(seam):
    runtime, context, events = seam
    values = [row.value for row in runtime.read_new_records("travel", "complaints").collect()]
    assert values == ['{"a": 1}', "odd\u0001line", "7"]
    (options,) = context.calls
    assert options["connection_options"] == {"paths": ["s3://raw/complaints/"], "recurse": True}
    assert options["format"] == "csv"
    assert options["format_options"]["quoteChar"] == -1 and options["format_options"]["withHeader"] is False
    assert options["transformation_ctx"] == "read_travel_complaints"
    assert events[:2] == ["job", ("init", "json-to-pq-prod")]


def test_sink_appends_output_and_tags_quarantine_with_the_run(seam, spark, tmp_path):
    runtime, _, _ = seam
    sink = runtime.sink(str(tmp_path / "out"), str(tmp_path / "quarantine"))
    for _ in range(2):
        sink.write_quarantine(spark.createDataFrame([("x", ["bad"])], "record string, reasons array<string>"))
        sink.write_output(spark.createDataFrame([(1, "2026-11-01")], "id int, day string"), "day")
    quarantined = [json.loads(line) for p in (tmp_path / "quarantine").glob("*.json") for line in p.read_text().splitlines()]
    assert quarantined == [{"record": "x", "reasons": ["bad"], "job_run_id": "jr_42"}] * 2
    assert spark.read.parquet(str(tmp_path / "out")).count() == 2  # appended, partitioned by day
    assert (tmp_path / "out" / "day=2026-11-01").is_dir()


def test_commit_commits_the_job(seam):
    runtime, _, events = seam
    runtime.commit()
    assert events[-1] == "commit"
