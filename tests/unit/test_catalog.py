"""The curated and quarantine tables: defined from schema.json, queryable without crawlers."""

from __future__ import annotations

import json

from aws_cdk import App, Stack
from aws_cdk.assertions import Template

from glue_etl_pipeline.catalog import CatalogTables
from glue_etl_pipeline.job_package import PACKAGE_DIR
from gluescripts.etl.table_schema import load_schema

SCHEMA_TEXT = (PACKAGE_DIR / "schema.json").read_text()


def tables(template) -> dict[str, dict]:
    return {t["Properties"]["TableInput"]["Name"]: t["Properties"] for t in template.find_resources("AWS::Glue::Table").values()}


def test_curated_table_has_the_schemas_columns_types_and_date_partition(prod_template):
    curated = tables(prod_template)["complaints_curated"]
    assert curated["DatabaseName"] == "travel"
    table = curated["TableInput"]
    schema = json.loads(SCHEMA_TEXT)
    assert [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]] == [(c["name"], c["type"]) for c in schema["columns"]]
    assert table["PartitionKeys"] == [{"Name": "complaint_date", "Type": "date"}]
    assert table["StorageDescriptor"]["Location"] == "s3://example-travel-curated-prod/complaints/"
    assert table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    parameters = table["Parameters"]
    assert parameters["parquet.compression"] == "SNAPPY"
    # New partitions are visible at once: Athena projects them, no crawler or MSCK REPAIR.
    assert parameters["projection.enabled"] == "true" and parameters["projection.complaint_date.type"] == "date"
    assert parameters["projection.complaint_date.format"] == "yyyy-MM-dd"
    assert parameters["storage.location.template"] == "s3://example-travel-curated-prod/complaints/complaint_date=${complaint_date}/"


def test_quarantine_table_reads_the_jobs_json_lines(prod_template):
    table = tables(prod_template)["complaints_quarantine"]["TableInput"]
    assert [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]] == [
        ("record", "string"), ("reasons", "array<string>"), ("job_run_id", "string"),
    ]
    assert table["StorageDescriptor"]["Location"] == "s3://example-travel-curated-prod/complaints_quarantine/"
    assert table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"


def test_a_column_added_to_the_schema_appears_in_the_table_and_no_partition_means_none(project_config):
    document = json.loads(SCHEMA_TEXT)
    document["columns"].append({"name": "loyalty_tier", "type": "string"})
    del document["partition"]
    stack = Stack(App(), "Catalog")
    CatalogTables(stack, "Catalog", config=project_config.select("PROD")[0], schema=load_schema(json.dumps(document)))
    table = tables(Template.from_stack(stack))["complaints_curated"]["TableInput"]
    assert table["StorageDescriptor"]["Columns"][-1] == {"Name": "loyalty_tier", "Type": "string"}
    assert "PartitionKeys" not in table or table["PartitionKeys"] == []
    assert not any(key.startswith("projection.") for key in table["Parameters"])


def test_table_names_and_database_are_configurable(variant_templates):
    names = tables(variant_templates["CATALOG"])
    assert set(names) == {"complaints_clean", "complaints_rejected"}
    assert {t["DatabaseName"] for t in names.values()} == {"analytics"}


def test_the_job_needs_no_catalog_write_for_new_partitions(prod_template):
    actions = {
        action
        for policy in prod_template.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    assert not {a for a in actions if a.startswith("glue:") and ("Partition" in a and not a.startswith("glue:Get") or "Update" in a or "Create" in a)}
