"""Reading JSON-lines files on a local file system (or any Hadoop path)."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession

from gluescripts.etl.schema import lines_with_source


def read_json_lines(spark: SparkSession, input_dir: str) -> DataFrame:
    """Every line of every file under `input_dir`, with the object and version it came from."""
    return lines_with_source(spark.read.option("recursiveFileLookup", "true").text(input_dir))
