"""The Spark settings that decide what a value becomes, set the same way on Glue's session and on the local one.

Record values are read by the job's own intake (`intake`), never by Spark's JSON reader or its
date parser, so no JSON option or time parser policy decides them. What Spark still decides:

- `spark.sql.session.timeZone`: the date of a timestamp (the partition column) and how timestamps
  are rendered. Glue's session leaves it at the JVM's default zone; pinned to UTC, a record's
  partition date is its UTC date wherever the job runs. A runtime SQL setting (Spark SQL
  configuration, "Runtime SQL Configuration"), so it can be set on Glue's running session.
- `spark.sql.parquet.datetimeRebaseModeInWrite` and `...int96RebaseModeInWrite`: their default,
  EXCEPTION, fails the whole write when one record holds a date before 1582-10-15 or a timestamp
  before 1900-01-01 (SparkUpgradeException WRITE_ANCIENT_DATETIME, Spark SQL migration guide,
  "Upgrading from Spark SQL 3.0 to 3.1"). CORRECTED writes the proleptic Gregorian value the intake
  accepted, which is the calendar Athena and Trino read.
"""

from __future__ import annotations

from pyspark.sql import SparkSession

SESSION_SETTINGS = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.datetimeRebaseModeInWrite": "CORRECTED",
    "spark.sql.parquet.int96RebaseModeInWrite": "CORRECTED",
}


def pin_session_settings(spark: SparkSession) -> None:
    """Apply `SESSION_SETTINGS` to a running session (all are runtime SQL settings)."""
    for key, value in SESSION_SETTINGS.items():
        spark.conf.set(key, value)
