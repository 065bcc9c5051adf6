"""The Glue-only seam: GlueContext, job bookmarks, S3 writes and Glue Data Quality publishing.

Imported only on AWS Glue, where the awsglue and awsgluedq modules exist; nothing here holds data
logic, so everything the tests cannot run here is this one small file.
"""

from __future__ import annotations

import logging

import boto3
from pyspark.context import SparkContext
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from awsglue.context import GlueContext  # type: ignore[import-not-found]
from awsglue.dynamicframe import DynamicFrame  # type: ignore[import-not-found]
from awsglue.job import Job  # type: ignore[import-not-found]

LOG = logging.getLogger("json_to_pq")
# A byte that never occurs in JSON text: splitting on it keeps each line whole as one column.
_NO_SEPARATOR = "\u0001"


class S3Sink:
    """Appends each run's results: Parquet partitions for passing rows, JSON lines for quarantine."""

    def __init__(self, output_path: str, quarantine_path: str, run_id: str):
        self.output_path, self.quarantine_path, self.run_id = output_path, quarantine_path, run_id

    def write_quarantine(self, records: DataFrame) -> None:
        records.withColumn("job_run_id", F.lit(self.run_id)).write.mode("append").json(self.quarantine_path)

    def write_output(self, records: DataFrame, partition_column: str) -> None:
        records.write.mode("append").partitionBy(partition_column).option("compression", "snappy").parquet(
            self.output_path
        )


class GlueRuntime:
    def __init__(self, args: dict[str, str]):
        self.glue_context = GlueContext(SparkContext.getOrCreate())
        self.job = Job(self.glue_context)
        self.job.init(args["JOB_NAME"], args)
        self.args = args

    def read_new_records(self, database: str, table: str) -> DataFrame:
        # The catalog names the data's location; reading it as whole lines (not as parsed JSON) keeps
        # the raw text of malformed records for quarantine, and the transformation_ctx lets job
        # bookmarks hand this run only files no committed run has read.
        location = boto3.client("glue").get_table(DatabaseName=database, Name=table)["Table"]["StorageDescriptor"]["Location"]
        lines = self.glue_context.create_dynamic_frame.from_options(
            connection_type="s3",
            connection_options={"paths": [location], "recurse": True},
            format="csv",
            format_options={"separator": _NO_SEPARATOR, "quoteChar": -1, "withHeader": False},
            transformation_ctx=f"read_{database}_{table}",
        ).toDF()
        # Glue may type a bare number or boolean in a CSV column; a JSON line is text whatever it holds.
        whole_line = F.concat_ws(_NO_SEPARATOR, *[F.col(c).cast("string") for c in lines.columns])
        return lines.select(whole_line.alias("value")) if lines.columns else lines

    def sink(self, output_path: str, quarantine_path: str) -> S3Sink:
        return S3Sink(output_path, quarantine_path, self.args.get("JOB_RUN_ID", self.args["JOB_NAME"]))

    def publish_results(self, records: DataFrame, ruleset: str) -> None:
        """Also run the ruleset through Glue Data Quality, so results show in Glue and CloudWatch.

        The project's own evaluator has already decided the run; a publishing problem is logged as
        an error rather than failing a run whose data is already written.
        """
        from awsgluedq.transforms import EvaluateDataQuality  # type: ignore[import-not-found]

        try:
            self._publish(EvaluateDataQuality, records, ruleset)
        except Exception:
            LOG.exception("publishing data quality results to Glue Data Quality failed")

    def _publish(self, EvaluateDataQuality, records: DataFrame, ruleset: str) -> None:
        results = EvaluateDataQuality.apply(
            frame=DynamicFrame.fromDF(records, self.glue_context, "records"),
            ruleset=ruleset,
            publishing_options={
                "dataQualityEvaluationContext": self.args["JOB_NAME"],
                "enableDataQualityCloudWatchMetrics": True,
                "enableDataQualityResultsPublishing": True,
            },
        )
        results.toDF().collect()

    def commit(self) -> None:
        self.job.commit()
