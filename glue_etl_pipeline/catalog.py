"""The curated and quarantine tables in the Glue Data Catalog, defined from the job's own schema.json.

Athena, Redshift Spectrum and EMR read the output from here the moment a run ends. The columns come
from the schema the job parses with, so the job and the table cannot drift apart. New date
partitions need no crawler, no MSCK REPAIR and no catalog call from the job: the curated table uses
partition projection (Amazon Athena User Guide, "Partition projection with Amazon Athena"), which
computes a partition's location from its value.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_glue as glue
from constructs import Construct

from glue_etl_pipeline.config import EnvironmentConfig
from gluescripts.etl.table_schema import VISIBLE_FROM, TableSchema

QUARANTINE_COLUMNS = (("record", "string"), ("reasons", "array<string>"), ("job_run_id", "string"))


class CatalogTables(Construct):
    """`<db>.<table>_curated` (Parquet, snappy, partitioned by date) and `<db>.<table>_quarantine` (JSON lines)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, schema: TableSchema) -> None:
        super().__init__(scope, construct_id)
        account = Stack.of(self).account
        location = config.destination_s3_location.uri
        parameters = {"classification": "parquet", "parquet.compression": "SNAPPY"}
        partition_keys = []
        if schema.partition_column:
            column = schema.partition_column
            partition_keys = [glue.CfnTable.ColumnProperty(name=column, type="date")]
            parameters.update(
                {
                    "projection.enabled": "true",
                    f"projection.{column}.type": "date",
                    f"projection.{column}.format": "yyyy-MM-dd",
                    f"projection.{column}.range": f"{VISIBLE_FROM.isoformat()},NOW",
                    f"projection.{column}.interval": "1",
                    f"projection.{column}.interval.unit": "DAYS",
                    # The job's Spark writes Hive-style folders: <location><column>=<yyyy-MM-dd>/
                    "storage.location.template": f"{location}{column}=${{{column}}}/",
                }
            )
        self.curated = glue.CfnTable(
            self,
            "Curated",
            catalog_id=account,
            database_name=config.curated_database,
            table_input=glue.CfnTable.TableInputProperty(
                name=config.curated_table,
                description=f"Validated {config.glue_db}.{config.table_name} records written by the {config.name} Glue job",
                table_type="EXTERNAL_TABLE",
                parameters=parameters,
                partition_keys=partition_keys,
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    columns=[glue.CfnTable.ColumnProperty(name=c.name, type=c.type) for c in schema.columns],
                    location=location,
                    input_format="org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                    output_format="org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library="org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
                    ),
                ),
            ),
        )
        self.quarantine = glue.CfnTable(
            self,
            "Quarantine",
            catalog_id=account,
            database_name=config.curated_database,
            table_input=glue.CfnTable.TableInputProperty(
                name=config.quarantine_table,
                description=f"Records of {config.glue_db}.{config.table_name} the {config.name} Glue job quarantined, with reasons",
                table_type="EXTERNAL_TABLE",
                parameters={"classification": "json"},
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    columns=[glue.CfnTable.ColumnProperty(name=n, type=t) for n, t in QUARANTINE_COLUMNS],
                    location=config.quarantine_s3_location.uri,
                    input_format="org.apache.hadoop.mapred.TextInputFormat",
                    output_format="org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                    serde_info=glue.CfnTable.SerdeInfoProperty(serialization_library="org.openx.data.jsonserde.JsonSerDe"),
                ),
            ),
        )
