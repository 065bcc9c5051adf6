"""The Glue job as Glue starts it: the shipped script and --extra-py-files zip from the synthesized
assembly, Glue's argv, AWS's own getResolvedOptions and SelectFromCollection (awsgluedataplanepython),
and stand-ins only for the JVM-backed classes (GlueContext, Job, DynamicFrame, EvaluateDataQuality),
shaped as AWS documents them. moto stands in for the Data Catalog's source table, and Iceberg's own
in-memory catalog for the Glue Data Catalog behind the job's Iceberg tables (it keeps the tables'
LOCATION, as Glue's catalog does; its files stay in memory).
"""

from __future__ import annotations

import importlib
import json
import logging
import random
import re
import runpy
import sys
import time
import types
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import awsglue.context
import awsglue.dynamicframe
import awsglue.job
import boto3
import pytest
from awsglue.dynamicframe import DynamicFrameCollection
from moto import mock_aws
from moto.cloudwatch.models import cloudwatch_backends
from moto.core import DEFAULT_ACCOUNT_ID
from pyspark.sql import functions as F

from tests.helpers import only_resource
from tools.synthetic_complaints import good_record, write_files

AIRLINES = '["AA","AF","BA","DL","EK","IB","KL","LH","LX","UA"]'
# As Glue prints the bundled rules in its results: re-rendered, without the spaces of the source.
AIRLINE_RULE = f'ColumnValues "airline" in {AIRLINES}'
COMPLETENESS_RULE = 'Completeness "description" >= 0.8'


def asset_path(assembly_dir, reference: dict, suffix: str):
    (asset_hash,) = re.findall(rf"/([0-9a-f]{{64}})\.{suffix}$", reference["Fn::Join"][1][-1])
    return assembly_dir / f"asset.{asset_hash}.{suffix}"


class StandInDynamicFrame:
    """DynamicFrame's documented surface used by the job: fromDF and toDF.

    `fromDF(dataframe, glue_ctx, name)`: the GlueContext is required, the name optional since Glue
    3.0 (AWS Glue Developer Guide, "DynamicFrame class").
    """

    def __init__(self, frame, glue_ctx=None):
        self.frame, self.glue_ctx = frame, glue_ctx

    @classmethod
    def fromDF(cls, dataframe, glue_ctx, name=None):
        return cls(dataframe, glue_ctx)

    def toDF(self, options=None):
        return self.frame


@dataclass
class GlueWorld:
    """What the stand-ins saw, in order, and how Glue Data Quality is to judge this batch."""

    spark: object
    input_dir: object
    events: list = field(default_factory=list)
    init_args: dict = field(default_factory=dict)
    dq_calls: list = field(default_factory=list)
    failing_dataset_rule: str | None = None
    outputs: tuple = ()
    catalog: str = ""
    started_at: datetime | None = None
    maintained_at: list = field(default_factory=list)
    ended_at: datetime | None = None
    seconds: float = 0.0

    def table(self, name: str):
        return self.spark.table(f"{self.catalog}.travel.complaints_{name}")


@pytest.fixture
def glue(spark, tmp_path, dev_template, assembly_dir, monkeypatch):
    world = GlueWorld(spark, tmp_path / "raw")
    world.outputs = (tmp_path / "curated", tmp_path / "quarantine")

    class GlueContext:
        def __init__(self, spark_context):
            self.spark_session = spark
            outer = self

            class Reader:
                def from_options(self, connection_type, connection_options, format, format_options, transformation_ctx):
                    world.events.append(("read", connection_options["paths"], transformation_ctx))
                    # Glue's CSV reader on a separator absent from JSON, each line with the file it came from.
                    lines = spark.read.option("recursiveFileLookup", "true").text(connection_options["paths"][0])
                    return StandInDynamicFrame(
                        lines.select(F.col("value").alias("col0"), F.input_file_name().alias(connection_options["attachFilename"]))
                    )

            self.create_dynamic_frame = Reader()
            self.outer = outer

    class Job:
        def __init__(self, glue_context):
            assert isinstance(glue_context, GlueContext)

        def init(self, name, args):
            world.init_args = dict(args)
            world.events.append(("init", name))

        def commit(self):
            world.events.append(("commit", [world.table("curated").count(), world.table("quarantine").count()]))

    class EvaluateDataQuality:
        def process_rows(self, frame, ruleset, publishing_options, additional_options):
            # Glue's JVM evaluates the frame in the job's GlueContext.
            assert isinstance(frame.glue_ctx, GlueContext)
            world.dq_calls.append((ruleset, publishing_options, additional_options))
            typed = frame.toDF()
            outcomes = [(AIRLINE_RULE, "Passed", None, {"Column.airline.ColumnValues.Compliance": 1.0})]
            if world.failing_dataset_rule:
                outcomes.append((world.failing_dataset_rule, "Failed", "Value: 2 does not meet the constraint requirement!", {}))
            outcomes.append((COMPLETENESS_RULE, "Passed", None, {"Column.description.Completeness": 0.9}))
            rule_frame = spark.createDataFrame(outcomes, "Rule string, Outcome string, FailureReason string, EvaluatedMetrics map<string,double>")
            bad_airline = ~F.col("airline").isin(json.loads(AIRLINES)) | F.col("airline").isNull()
            failed = F.array_compact(
                F.array(
                    F.when(bad_airline, F.lit(AIRLINE_RULE)),
                    # Glue also lists a ratio rule for the rows it counts against; the job must not quarantine them.
                    F.when(F.col("description").isNull(), F.lit(COMPLETENESS_RULE)),
                )
            )
            rows = typed.select(
                "*",
                F.array().cast("array<string>").alias("DataQualityRulesPass"),
                failed.alias("DataQualityRulesFail"),
                F.array().cast("array<string>").alias("DataQualityRulesSkip"),
            ).withColumn("DataQualityEvaluationResult", F.when(F.size("DataQualityRulesFail") > 0, "Failed").otherwise("Passed"))
            return DynamicFrameCollection(
                {"ruleOutcomes": StandInDynamicFrame(rule_frame), "rowLevelOutcomes": StandInDynamicFrame(rows)}, None
            )

    monkeypatch.setattr(awsglue.context, "GlueContext", GlueContext)
    monkeypatch.setattr(awsglue.job, "Job", Job)
    monkeypatch.setattr(awsglue.dynamicframe, "DynamicFrame", StandInDynamicFrame)
    transforms = type(sys)("awsgluedq.transforms")
    transforms.EvaluateDataQuality = EvaluateDataQuality
    monkeypatch.setitem(sys.modules, "awsgluedq", type(sys)("awsgluedq"))
    monkeypatch.setitem(sys.modules, "awsgluedq.transforms", transforms)

    job = only_resource(dev_template, "AWS::Glue::Job")["Properties"]
    script = asset_path(assembly_dir, job["Command"]["ScriptLocation"], "py")
    package = asset_path(assembly_dir, job["DefaultArguments"]["--extra-py-files"], "zip")
    arguments = {
        key: value if isinstance(value, str) else "resolved-by-cloudformation"
        for key, value in job["DefaultArguments"].items()
    }
    # The Glue Data Catalog behind the Iceberg tables: Iceberg's in-memory catalog, one per test.
    world.catalog = f"glue_{uuid.uuid4().hex[:8]}"
    spark.conf.set(f"spark.sql.catalog.{world.catalog}", "org.apache.iceberg.spark.SparkCatalog")
    spark.conf.set(f"spark.sql.catalog.{world.catalog}.catalog-impl", "org.apache.iceberg.inmemory.InMemoryCatalog")
    spark.conf.set(f"spark.sql.catalog.{world.catalog}.warehouse", str(tmp_path / "warehouse"))
    assert arguments["--catalog"] == "glue_catalog" and arguments["--curated_table"] == "travel.complaints_curated"
    arguments.update(
        {"--outputpath": str(world.outputs[0]), "--quarantinepath": str(world.outputs[1]), "--catalog": world.catalog}
    )
    # What Glue adds to a run's arguments before the job's own (AWS Glue "Job parameters" reference).
    argv = [str(script), "--JOB_ID", "j_0123", "--JOB_RUN_ID", "jr_0123", "--JOB_NAME", "json-to-pq-dev", "--TempDir", "s3://tmp/"]
    argv += [token for key, value in arguments.items() for token in (key, value)]

    # The zip's package, not the source tree's: the job imports what the stack uploads.
    for name in [name for name in sys.modules if name == "gluescripts" or name.startswith("gluescripts.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(package))
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        catalog = boto3.client("glue")
        catalog.create_database(DatabaseInput={"Name": arguments["--dbname"]})
        catalog.create_table(
            DatabaseName=arguments["--dbname"],
            TableInput={"Name": arguments["--table"], "StorageDescriptor": {"Location": str(world.input_dir)}},
        )

        # Iceberg's in-memory catalog keeps its files in memory, where the maintenance procedures
        # cannot list them: here the sink's maintenance only records that it ran (test_maintenance.py
        # runs the procedures on files).
        iceberg_sink = importlib.import_module("gluescripts.etl.iceberg_sink")
        def maintain(sink):
            world.maintained_at.append(sink.ingested_at)
            return [sink.curated.identifier, sink.quarantine.identifier]

        monkeypatch.setattr(iceberg_sink.IcebergSink, "maintain", maintain)

        def run():
            world.started_at = datetime.now(timezone.utc)
            started = time.monotonic()
            try:
                runpy.run_path(str(script), run_name="__main__")
            finally:
                world.seconds, world.ended_at = time.monotonic() - started, datetime.now(timezone.utc)

        world.run = run
        world.package = package
        yield world
    for name in [name for name in sys.modules if name == "gluescripts" or name.startswith("gluescripts.")]:
        del sys.modules[name]


def quarantined(world) -> list[dict]:
    return [row.asDict() for row in world.table("quarantine").collect()]


def test_glue_starts_the_shipped_script_with_the_bookmark_option_in_job_init(glue, caplog):
    write_files(glue.input_dir, 60, files=2, bad_fraction=0.05, seed=21)
    with caplog.at_level(logging.INFO, logger="json_to_pq"):
        glue.run()
    # Glue Data Quality runs once, on the bundled ruleset, publishing under the job's name.
    ((ruleset, publishing, additional),) = glue.dq_calls
    assert ruleset.lstrip().startswith("#") and "Rules = [" in ruleset
    assert publishing == {
        "dataQualityEvaluationContext": "json-to-pq-dev",
        "enableDataQualityCloudWatchMetrics": True,
        "enableDataQualityResultsPublishing": True,
    }
    assert additional == {"performanceTuning.caching": "CACHE_NOTHING", "compositeRuleEvaluation.method": "ROW"}
    assert sys.modules["gluescripts.etl.pipeline"].__file__.startswith(str(glue.package))
    assert glue.init_args["job_bookmark_option"] == "job-bookmark-enable"
    assert (glue.init_args["JOB_ID"], glue.init_args["JOB_RUN_ID"], glue.init_args["TempDir"]) == ("j_0123", "jr_0123", "s3://tmp/")
    kinds = [event[0] for event in glue.events]
    assert kinds == ["init", "read", "commit"]
    assert glue.events[1][2] == "read_travel_complaints"
    # The bookmark is committed after both tables published the batch.
    assert glue.events[2] == ("commit", [glue.table("curated").count(), glue.table("quarantine").count()])
    assert all(count > 0 for count in glue.events[2][1])
    # The tables sit where the stack says, with Glue's run id on every row.
    for name, location in zip(("curated", "quarantine"), glue.outputs):
        described = glue.spark.sql(f"DESCRIBE TABLE EXTENDED {glue.catalog}.travel.complaints_{name}").collect()
        assert [row.data_type for row in described if row.col_name == "Location"] == [f"file:{str(location).rstrip('/')}"]
    assert {row.job_run_id for row in glue.table("curated").select("job_run_id").distinct().collect()} == {"jr_0123"}
    # The run's metrics, in one PutMetricData call to the pipeline's namespace, for this environment.
    metrics = boto3.client("cloudwatch").list_metrics(Namespace="GlueEtlPipeline")["Metrics"]
    assert sorted(m["MetricName"] for m in metrics) == [
        "BatchesFailed", "RecordsAlreadyCommitted", "RecordsMalformed", "RecordsQuarantined", "RecordsRead",
        "RecordsWithUnknownFields", "RecordsWritten", "RunDurationSeconds",
    ]
    assert all(m["Dimensions"] == [{"Name": "Environment", "Value": "DEV"}] for m in metrics)
    values = published_values(glue)
    assert values["BatchesFailed"] == 0
    assert 0 < values["RunDurationSeconds"] <= glue.seconds
    # Every row says when it was ingested: the run's start.
    for name in ("curated", "quarantine"):
        (ingested,) = glue.table(name).select("ingested_at").distinct().collect()
        assert glue.started_at <= ingested.ingested_at.replace(tzinfo=timezone.utc) <= glue.ended_at
    # What an operator reads in the job's log: the report, the counts, and the maintenance.
    written, quarantined = glue.events[2][1]
    (report,) = [json.loads(m.removeprefix("data quality report: ")) for m in caplog.messages if m.startswith("data quality report: ")]
    assert (report["records"]["read"], report["records"]["written"], report["records"]["quarantined"]) == (60, written, quarantined)
    assert f"read 60, written {written}, quarantined {quarantined}" in caplog.messages
    assert [m for m in caplog.messages if m.startswith("maintained ")] == [
        f"maintained {glue.catalog}.travel.complaints_{name}: small files compacted, old snapshots expired, orphan files removed"
        for name in ("curated", "quarantine")
    ]
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]
    # The maintenance compares the run's start with each table's last maintenance, stored in UTC.
    (maintained_at,) = glue.maintained_at
    assert maintained_at.utcoffset() == timedelta(0) and glue.started_at <= maintained_at <= glue.ended_at


def test_a_run_with_nothing_new_commits_the_bookmark_and_publishes_zero_counts(glue, caplog):
    glue.input_dir.mkdir()
    with caplog.at_level(logging.INFO, logger="json_to_pq"):
        glue.run()
    assert glue.dq_calls == []
    assert [event[0] for event in glue.events] == ["init", "read", "commit"]
    assert glue.events[2] == ("commit", [0, 0])
    # Published all the same, so the freshness alarm tells "ran, found nothing" from "never ran".
    values = published_values(glue)
    assert {name: values[name] for name in values if name != "RunDurationSeconds"} == {
        "RecordsRead": 0, "RecordsWritten": 0, "RecordsQuarantined": 0, "RecordsMalformed": 0,
        "RecordsWithUnknownFields": 0, "BatchesFailed": 0,
    }
    assert 0 < values["RunDurationSeconds"] <= glue.seconds
    assert "no new records in travel.complaints; nothing to do" in caplog.messages


def test_after_the_commit_a_metrics_or_maintenance_failure_is_logged_and_the_run_succeeds(glue, caplog, monkeypatch):
    write_files(glue.input_dir, 30, files=1, bad_fraction=0.0, seed=25)
    # The zip's modules, as the script will import them.
    iceberg_sink = importlib.import_module("gluescripts.etl.iceberg_sink")
    assert iceberg_sink.__file__.startswith(str(glue.package))

    def refuse(*args, **kwargs):
        raise RuntimeError("refused by the stand-in")

    monkeypatch.setattr(iceberg_sink.IcebergSink, "maintain", refuse)
    real_client = boto3.client
    monkeypatch.setattr(boto3, "client", lambda name, **kw: types.SimpleNamespace(put_metric_data=refuse) if name == "cloudwatch" else real_client(name, **kw))
    with caplog.at_level(logging.INFO, logger="json_to_pq"):
        glue.run()
    assert [event[0] for event in glue.events] == ["init", "read", "commit"]
    assert glue.table("curated").count() + glue.table("quarantine").count() == 30
    failures = [(record.levelno, record.getMessage(), str(record.exc_info[1])) for record in caplog.records if record.exc_info]
    assert failures == [
        (logging.ERROR, "publishing the run's metrics to CloudWatch failed", "refused by the stand-in"),
        (logging.ERROR, "the tables' maintenance failed; the next run tries again", "refused by the stand-in"),
    ]


def published_values(glue) -> dict[str, float]:
    """The value of each metric the run published (moto keeps every datum PutMetricData sent)."""
    backend = cloudwatch_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"]
    return {datum.name: datum.value for datum in backend.metric_data if datum.namespace == "GlueEtlPipeline"}


def test_rows_glue_marks_failed_by_a_row_rule_are_quarantined_with_that_rule(glue, spark, caplog):
    write_files(glue.input_dir, 80, files=2, bad_fraction=0.06, seed=23)
    record = good_record(random.Random(5), 999, datetime(2026, 11, 1, tzinfo=timezone.utc))
    (glue.input_dir / "late.jsonl").write_text(json.dumps({**record, "airline": "ZZ", "seat": "12A", "colour": "red"}) + "\n")
    with caplog.at_level(logging.INFO, logger="json_to_pq"):
        glue.run()
    # Schema drift is logged, and the field is kept out of the output.
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert warnings == ["1 records of travel.complaints carry fields the schema does not declare (kept out of the output): colour, seat"]
    records = quarantined(glue)
    rule_breakers = [q for q in records if q["reasons"] == [AIRLINE_RULE]]
    assert rule_breakers and all(json.loads(q["record"])["airline"] not in json.loads(AIRLINES) for q in rule_breakers)
    assert all(q["job_run_id"] == "jr_0123" for q in records)
    assert not any(COMPLETENESS_RULE in q["reasons"] for q in records)  # a ratio rule never quarantines
    written = glue.table("curated").count()
    assert written + len(records) == 81


def test_a_failed_dataset_rule_writes_nothing_commits_nothing_and_names_the_marker(glue, caplog):
    write_files(glue.input_dir, 20, files=1, bad_fraction=0.3, seed=24)
    glue.failing_dataset_rule = "RowCount > 100"
    with pytest.raises(RuntimeError) as raised, caplog.at_level(logging.INFO, logger="json_to_pq"):
        glue.run()
    # The logged report gives the failed rule with Glue's reason.
    (report,) = [json.loads(m.removeprefix("data quality report: ")) for m in caplog.messages if m.startswith("data quality report: ")]
    assert {"rule": "RowCount > 100", "outcome": "Failed", "level": "dataset",
            "failure_reason": "Value: 2 does not meet the constraint requirement!"} in report["rules"]
    assert report["passed"] is False
    # Each reason the batch failed, in one line after the marker the state machine matches.
    message = re.fullmatch(
        r"GlueEtlDataQualityFailed: travel\.complaints: data quality rule failed: RowCount > 100 \(Value: 2 does not meet the constraint requirement!\); "
        r"quarantined (\d+) of 20 records \(\d+\.\d%\), above the limit of 10\.0%",
        str(raised.value),
    )
    assert message, str(raised.value)
    assert [event[0] for event in glue.events] == ["init", "read"]
    assert glue.table("curated").count() == glue.table("quarantine").count() == 0
    # The failed batch still publishes its counts, so the dashboard shows what failed it.
    values = published_values(glue)
    assert (values["BatchesFailed"], values["RecordsRead"], values["RecordsWritten"]) == (1, 20, 0)
    assert values["RecordsQuarantined"] == int(message[1]) > 2
    assert 0 < values["RunDurationSeconds"] <= glue.seconds


def test_a_missing_job_argument_is_named_by_glues_own_parser(glue, monkeypatch):
    argv = sys.argv
    position = argv.index("--quarantinepath")
    monkeypatch.setattr(sys, "argv", argv[:position] + argv[position + 2 :])
    with pytest.raises(Exception, match="the following arguments are required: --quarantinepath"):
        glue.run()
    assert glue.events == []
