"""Plain-PySpark data logic of the JSON-to-Parquet job, identical on AWS Glue and on a laptop."""
