"""Glue job entrypoint: read the catalog table's JSON and write it to S3 as Parquet.

Arguments: --JOB_NAME (set by Glue), --dbname, --table, --outputpath.
"""

import sys

from awsglue.context import GlueContext
from awsglue.job import Job
from awsglue.utils import getResolvedOptions
from pyspark.context import SparkContext

args = getResolvedOptions(sys.argv, ["JOB_NAME", "dbname", "table", "outputpath"])
glue_context = GlueContext(SparkContext.getOrCreate())
job = Job(glue_context)
job.init(args["JOB_NAME"], args)

# The transformation_ctx lets job bookmarks hand each run only the files it has not seen.
records = glue_context.create_dynamic_frame.from_catalog(
    database=args["dbname"], table_name=args["table"], transformation_ctx="source"
)
records.toDF().write.mode("append").option("compression", "snappy").parquet(args["outputpath"])
job.commit()
