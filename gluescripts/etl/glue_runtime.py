"""The Glue-only seam: GlueContext, job bookmarks, Glue Data Quality and S3 writes.

Imported only on AWS Glue, where Glue's JVM classes back awsglue and awsgluedq; nothing here holds
data logic. The tests run it with stand-ins for exactly those JVM-backed classes.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

import boto3
from pyspark.context import SparkContext
from pyspark.sql import DataFrame

from awsglue.context import GlueContext  # type: ignore[import-not-found]
from awsglue.dynamicframe import DynamicFrame  # type: ignore[import-not-found]
from awsglue.job import Job  # type: ignore[import-not-found]
from awsglue.transforms import SelectFromCollection  # type: ignore[import-not-found]

from gluescripts.etl.iceberg_sink import IcebergSink, TableLocation
from gluescripts.etl.metrics import NAMESPACE
from gluescripts.etl.schema import lines_with_source
from gluescripts.etl.table_schema import TableSchema
from gluescripts.etl.session_settings import pin_session_settings
from gluescripts.etl.quality import ROW_LEVEL_OUTCOMES, RULE_OUTCOMES, QualityResults, rule_outcomes_from_rows

LOG = logging.getLogger("json_to_pq")
# A character JSON text never holds unescaped: Glue's reader keeps each line in one column.
_NO_SEPARATOR = "\u0001"
SOURCE_FILE = "source_file"
_GLOB_CHARACTERS = re.compile(r"([\\*?\[\]{}])")


def _literal_path(path: str) -> str:
    """A file name as Spark's reader takes it literally: Hadoop expands glob characters in paths."""
    return _GLOB_CHARACTERS.sub(r"\\\1", path)


class GlueRuntime:
    def __init__(self, args: dict):
        self.glue_context = GlueContext(SparkContext.getOrCreate())
        self.job = Job(self.glue_context)
        # The whole resolved dict, as Glue-generated scripts pass it: the JVM side takes the bookmark
        # option (job_bookmark_option) and the run's ids from it.
        self.job.init(args["JOB_NAME"], args)
        pin_session_settings(self.glue_context.spark_session)
        self.args = args

    def read_new_records(self, database: str, table: str) -> DataFrame:
        """The lines of the files no committed run has read, byte for byte.

        Job bookmarks choose the files, and they only work through Glue's own readers (AWS Glue
        Developer Guide, "Tracking processed data using job bookmarks": S3 sources in JSON, CSV,
        Avro, XML, Parquet or ORC). None of those hands back a line as it is: Glue's CSV reader
        types values and may make a column a choice of types ("DynamicFrame class": choice types),
        so a line cast back to text need not be the line. Glue's reader is therefore asked only which
        files this run reads (`attachFilename`, an Amazon S3 connection option), and Spark's text
        reader, which never types, reads those files.

        A run takes at most `max_bytes_per_run` of new files (`boundedSize`, AWS Glue Developer
        Guide, "Workload partitioning with bounded execution"); the rest stays unread for the next run.
        """
        location = boto3.client("glue").get_table(DatabaseName=database, Name=table)["Table"]["StorageDescriptor"]["Location"]
        tracked = self.glue_context.create_dynamic_frame.from_options(
            connection_type="s3",
            connection_options={
                "paths": [location],
                "recurse": True,
                "attachFilename": SOURCE_FILE,
                "boundedSize": self.args["max_bytes_per_run"],
            },
            format="csv",
            format_options={"separator": _NO_SEPARATOR, "quoteChar": -1, "withHeader": False},
            transformation_ctx=f"read_{database}_{table}",
        ).toDF()
        spark = self.glue_context.spark_session
        no_lines = spark.createDataFrame([], "value string, source_object string, source_modified_at timestamp")
        if SOURCE_FILE not in tracked.columns:
            if tracked.isEmpty():
                return no_lines
            raise RuntimeError(f"Glue's reader returned lines without their file (no column {SOURCE_FILE!r}); nothing was read")
        files = sorted(row[0] or "" for row in tracked.select(SOURCE_FILE).distinct().collect())
        if "" in files:
            raise RuntimeError(f"Glue's reader returned lines without their file (an empty {SOURCE_FILE!r}); nothing was read")
        if not files:
            return no_lines
        return lines_with_source(spark.read.text([_literal_path(path) for path in files]))

    def evaluate(self, records: DataFrame, ruleset: str) -> QualityResults:
        """One Glue Data Quality evaluation: it decides the batch and publishes the results.

        Results go to Glue Data Quality and CloudWatch under the job's name as evaluation context.
        The input is already cached by the caller, so Glue is asked not to cache it again; the
        caller keeps the routed row-level results it counts and writes.
        """
        from awsgluedq.transforms import EvaluateDataQuality  # type: ignore[import-not-found]

        collection = EvaluateDataQuality().process_rows(
            frame=DynamicFrame.fromDF(records, self.glue_context, "typed_records"),
            ruleset=ruleset,
            publishing_options={
                "dataQualityEvaluationContext": self.args["JOB_NAME"],
                "enableDataQualityCloudWatchMetrics": True,
                "enableDataQualityResultsPublishing": True,
            },
            # Composite rules judged row by row, so a composite of row rules quarantines rows as its parts do.
            additional_options={"performanceTuning.caching": "CACHE_NOTHING", "compositeRuleEvaluation.method": "ROW"},
        )
        outcomes = SelectFromCollection.apply(dfc=collection, key=RULE_OUTCOMES).toDF().collect()
        rows = SelectFromCollection.apply(dfc=collection, key=ROW_LEVEL_OUTCOMES).toDF()
        return QualityResults(rule_outcomes_from_rows(row.asDict(recursive=True) for row in outcomes), rows)

    def sink(self, schema: TableSchema, started: datetime) -> IcebergSink:
        """The curated and quarantine tables in the Glue Data Catalog (the `--conf` catalog named by `--catalog`)."""
        catalog = self.args["catalog"]
        return IcebergSink(
            self.glue_context.spark_session,
            schema,
            # Iceberg appends /data and /metadata to a table's location: without the folder's slash.
            TableLocation(f"{catalog}.{self.args['curated_table']}", self.args["outputpath"].rstrip("/")),
            TableLocation(f"{catalog}.{self.args['quarantine_table']}", self.args["quarantinepath"].rstrip("/")),
            self.args.get("JOB_RUN_ID") or self.args["JOB_NAME"],
            started,
        )

    def commit(self) -> None:
        self.job.commit()

    def publish_metrics(self, metric_data: list[dict]) -> None:
        """One PutMetricData call. The run's data is committed by now: a failure here is logged, not raised."""
        try:
            boto3.client("cloudwatch").put_metric_data(Namespace=NAMESPACE, MetricData=metric_data)
        except Exception:
            LOG.exception("publishing the run's metrics to CloudWatch failed")
