"""Reading JSON-lines files and writing the job's results on a local file system (or any Hadoop path)."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession


def read_json_lines(spark: SparkSession, input_dir: str) -> DataFrame:
    """Every line of every file under `input_dir`, as a frame with one string column `value`."""
    return spark.read.option("recursiveFileLookup", "true").text(input_dir)


class DirectorySink:
    """Writes `parquet/` and `quarantine/` under one output directory, replacing earlier results."""

    def __init__(self, output_dir: str):
        self.output_dir = output_dir.rstrip("/")

    def write_quarantine(self, records: DataFrame) -> None:
        records.write.mode("overwrite").json(f"{self.output_dir}/quarantine")

    def write_output(self, records: DataFrame, partition_column: str | None) -> None:
        writer = records.write.mode("overwrite").option("compression", "snappy")
        (writer.partitionBy(partition_column) if partition_column else writer).parquet(f"{self.output_dir}/parquet")
