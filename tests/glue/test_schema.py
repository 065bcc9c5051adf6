"""The explicit schema file: what it declares and one-line errors for what the job cannot apply.

What a line becomes under a schema is the intake's contract table (intake_cases.py).
"""

from __future__ import annotations

import json

import pytest

from gluescripts.etl.bundled import SCHEMA_FILE, bundled_text
from gluescripts.etl.schema import SchemaError, load_schema
from gluescripts.etl.table_schema import decimal_precision


def test_bundled_schema_loads():
    schema = load_schema(bundled_text(SCHEMA_FILE))
    assert schema.column_names[0] == "complaint_id"
    assert (schema.partition_column, schema.partition_source) == ("complaint_date", "filed_at")


FORM = "schema is not of the form {columns: [{name, type}], partition (optional): {column, from}}: "
NAME_RULE = "expected a letter, then letters, digits or '_' (a catalog column, and no name of the job's own)"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("not json", FORM + "Expecting value: line 1 column 1 (char 0)"),
        ('{"columns": [1]}', FORM + "'int' object is not subscriptable"),
        ('{"columns": [{"name": "a", "type": "string"}], "partition": "a"}', FORM + "string indices must be integers, not 'str'"),
        ('{"columns": [], "partition": {"column": "d", "from": "t"}}', "schema declares no columns"),
        ('{"columns": [{"name": "a", "type": "uuid"}], "partition": {"column": "d", "from": "a"}}', "column 'a' has unsupported type 'uuid'"),
        ('{"columns": [{"name": "a", "type": "string"}], "partition": {"column": "d", "from": "a"}}',
         "partition source 'a' must be a date or timestamp column"),
        ('{"columns": [{"name": "t", "type": "date"}], "partition": {"column": "t", "from": "t"}}',
         "partition column 't' must not also be a data column"),
        ('{"columns": [{"name": "_raw", "type": "string"}]}', f"column name '_raw': {NAME_RULE}"),
        ('{"columns": [{"name": "a.b", "type": "string"}]}', f"column name 'a.b': {NAME_RULE}"),
        ('{"columns": [{"name": "Job_Run_ID", "type": "string"}]}',
         "column name 'Job_Run_ID' is one of the job's lineage columns (ingested_at, job_run_id, source_modified_at, source_object)"),
        ('{"columns": [{"name": "ID", "type": "string"}, {"name": "id", "type": "int"}]}',
         "schema declares a column twice (names differ in case only count as the same: Spark and the catalog ignore case)"),
        ('{"columns": [{"name": "t", "type": "date"}], "partition": {"column": "day-1", "from": "t"}}', f"column name 'day-1': {NAME_RULE}"),
        # Spark's decimals: a precision of at most 38 digits, a scale of at most the precision.
        ('{"columns": [{"name": "a", "type": "decimal(39,0)"}]}', "column 'a' has unsupported type 'decimal(39,0)'"),
        ('{"columns": [{"name": "a", "type": "decimal(5,6)"}]}', "column 'a' has unsupported type 'decimal(5,6)'"),
        ('{"columns": [{"name": "a", "type": "decimal(5, 2)"}]}', "column 'a' has unsupported type 'decimal(5, 2)'"),
    ],
)
def test_invalid_schema_is_a_clear_error(document, message):
    with pytest.raises(SchemaError) as raised:
        load_schema(document)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("type_name", "precision"),
    [("decimal(38,0)", (38, 0)), ("decimal(38,38)", (38, 38)), ("decimal(5,5)", (5, 5)), ("decimal(1,0)", (1, 0)), ("decimal(12,2)", (12, 2))],
)
def test_every_decimal_spark_holds_is_a_schema_type(type_name, precision):
    assert load_schema(json.dumps({"columns": [{"name": "a", "type": type_name}]})).columns[0].type == type_name
    assert decimal_precision(type_name) == precision
