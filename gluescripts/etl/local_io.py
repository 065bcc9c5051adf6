"""Reading JSON-lines files on a local file system (or any Hadoop path)."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession


def read_json_lines(spark: SparkSession, input_dir: str) -> DataFrame:
    """Every line of every file under `input_dir`, as a frame with one string column `value`."""
    return spark.read.option("recursiveFileLookup", "true").text(input_dir)
