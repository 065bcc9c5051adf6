"""The Glue-only seam's reader and sink, with stand-ins for the JVM-backed awsglue classes and moto's catalog.

The whole run through this seam, as Glue starts it, is in test_entrypoint.py.
"""

from __future__ import annotations

import importlib
import types

import awsglue.context
import awsglue.job
import boto3
import pytest
from moto import mock_aws


# Lines whose text Glue's CSV reader could change if it typed them: numbers, booleans, a choice of types.
RAW_LINES = [b'{"a": 1}', b"007", b"1.50", b"true", b"odd\x01line", b'{"b": "\xe2\x80\xa8"}\t', b"\xff not UTF-8", b""]


class TypingGlueContext:
    """Stands in for GlueContext's S3 CSV reader as Glue documents it can behave: it types values and makes a
    column a choice of types (a struct of its alternatives, as `toDF` gives an unresolved choice), and
    attaches each row's file name under the `attachFilename` column."""

    def __init__(self, spark, files):
        self.calls, self.spark_session, outer = [], spark, self

        class Reader:
            def from_options(self, **options):
                outer.calls.append(options)
                rows = [
                    ((int(line), None) if line.strip().isdigit() else (None, line.decode("utf-8", "replace")), str(path))
                    for path in files
                    for line in path.read_bytes().splitlines()
                ]
                schema = f"col0 struct<long:bigint,string:string>, {options['connection_options']['attachFilename']} string"
                frame = spark.createDataFrame(rows, schema) if rows else spark.createDataFrame([], "")
                return types.SimpleNamespace(toDF=lambda: frame)

        self.create_dynamic_frame = Reader()


@pytest.fixture
def seam(spark, monkeypatch, tmp_path):
    events = []
    raw = tmp_path / "raw"
    raw.mkdir()
    # One file under a name with glob characters, which Spark's reader must take literally.
    files = [raw / "part-[1].jsonl", raw / "part-2.jsonl"]
    files[0].write_bytes(b"\n".join(RAW_LINES[:4]) + b"\n")
    files[1].write_bytes(b"\r\n".join(RAW_LINES[4:]))

    class Job:
        def __init__(self, context):
            events.append("job")

        def init(self, name, args):
            events.append(("init", name))

        def commit(self):
            events.append("commit")

    context = TypingGlueContext(spark, files)
    def glue_context(spark_context):
        # GlueContext wraps the job's SparkContext (AWS Glue Developer Guide, "GlueContext class").
        assert spark_context is spark.sparkContext
        return context

    monkeypatch.setattr(awsglue.context, "GlueContext", glue_context)
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
            TableInput={"Name": "complaints", "StorageDescriptor": {"Location": str(raw)}},
        )
        runtime = glue_runtime.GlueRuntime({"JOB_NAME": "json-to-pq-prod", "JOB_RUN_ID": "jr_42", "max_bytes_per_run": "10737418240"})
        yield runtime, context, events, raw


def test_reads_the_files_glue_chose_byte_for_byte_whatever_glue_typed(seam):
    runtime, context, events, raw = seam
    lines = runtime.read_new_records("travel", "complaints")
    values = sorted(row.value for row in lines.select(lines.value.cast("binary").alias("value")).collect())
    # Spark's text reader ends a line at \n, \r\n or \r; the empty last line of a file is no line.
    assert values == sorted(RAW_LINES[:4] + RAW_LINES[4:-1])
    (options,) = context.calls
    # At most max_bytes_per_run of new files per run (Glue's bounded execution); the rest waits for the next run.
    assert options["connection_options"] == {
        "paths": [str(raw)], "recurse": True, "attachFilename": "source_file", "boundedSize": "10737418240",
    }
    # Glue's S3 CSV reader, on a separator JSON text never holds unescaped, with no quoting and no
    # header, so each line stays whole in one column (AWS Glue Developer Guide, "CSV format options").
    assert (options["connection_type"], options["format"]) == ("s3", "csv")
    assert options["format_options"] == {"separator": "\u0001", "quoteChar": -1, "withHeader": False}
    assert options["transformation_ctx"] == "read_travel_complaints"
    assert events[:2] == ["job", ("init", "json-to-pq-prod")]


def test_no_new_files_is_an_empty_batch(seam, monkeypatch, spark):
    runtime, context, _, _ = seam
    empty = spark.createDataFrame([], "")
    monkeypatch.setattr(context.create_dynamic_frame, "from_options", lambda **options: types.SimpleNamespace(toDF=lambda: empty))
    assert runtime.read_new_records("travel", "complaints").isEmpty()


def test_rows_without_their_file_name_stop_the_run_before_anything_is_read(seam, monkeypatch, spark):
    runtime, context, _, _ = seam
    unnamed = spark.createDataFrame([("x",)], "col0 string")
    monkeypatch.setattr(context.create_dynamic_frame, "from_options", lambda **options: types.SimpleNamespace(toDF=lambda: unnamed))
    with pytest.raises(RuntimeError, match=r"^Glue's reader returned lines without their file \(no column 'source_file'\)"):
        runtime.read_new_records("travel", "complaints")


@pytest.mark.parametrize("file_name", [None, ""])
def test_rows_with_an_empty_file_name_stop_the_run_before_anything_is_read(seam, monkeypatch, spark, file_name):
    runtime, context, _, _ = seam
    rows = spark.createDataFrame([("x", "s3://raw/a.jsonl"), ("y", file_name)], "col0 string, source_file string")
    monkeypatch.setattr(context.create_dynamic_frame, "from_options", lambda **options: types.SimpleNamespace(toDF=lambda: rows))
    with pytest.raises(RuntimeError) as raised:
        runtime.read_new_records("travel", "complaints")
    assert str(raised.value) == "Glue's reader returned lines without their file (an empty 'source_file'); nothing was read"


def test_glues_session_gets_the_pinned_settings_whatever_it_started_with(spark, seam):
    from gluescripts.etl.session_settings import SESSION_SETTINGS

    runtime, _, _, _ = seam
    # As Glue's own session starts: the JVM's zone, and Spark's defaults for ancient dates.
    spark.conf.set("spark.sql.session.timeZone", "America/New_York")
    spark.conf.unset("spark.sql.parquet.datetimeRebaseModeInWrite")
    spark.conf.unset("spark.sql.parquet.int96RebaseModeInWrite")
    try:
        type(runtime)({"JOB_NAME": "json-to-pq-prod", "JOB_RUN_ID": "jr_43"})
        assert {key: spark.conf.get(key) for key in SESSION_SETTINGS} == SESSION_SETTINGS
    finally:
        for key, value in SESSION_SETTINGS.items():
            spark.conf.set(key, value)


def test_the_sink_is_the_configured_catalogs_tables_at_the_configured_locations(seam):
    from datetime import datetime, timezone

    from gluescripts.etl.table_schema import load_schema

    runtime, _, _, _ = seam
    runtime.args.update(
        catalog="glue_catalog", curated_table="travel.complaints_curated", quarantine_table="travel.complaints_quarantine",
        outputpath="s3://lake/curated/FX/", quarantinepath="s3://lake/quarantine/FX",
    )
    started = datetime(2026, 12, 1, 10, 20, tzinfo=timezone.utc)
    schema = load_schema('{"columns": [{"name": "id", "type": "int"}]}')
    sink = runtime.sink(schema, started)
    # Only the trailing slash goes: Iceberg appends /data and /metadata to a table's location.
    assert (sink.curated.identifier, sink.curated.location) == ("glue_catalog.travel.complaints_curated", "s3://lake/curated/FX")
    assert (sink.quarantine.identifier, sink.quarantine.location) == ("glue_catalog.travel.complaints_quarantine", "s3://lake/quarantine/FX")
    assert (sink.run_id, sink.ingested_at) == ("jr_42", started)
    # Without a run id in its arguments, the rows carry the job's name instead.
    del runtime.args["JOB_RUN_ID"]
    assert runtime.sink(schema, started).run_id == "json-to-pq-prod"

def test_commit_commits_the_job(seam):
    runtime, _, events, _ = seam
    runtime.commit()
    assert events[-1] == "commit"
