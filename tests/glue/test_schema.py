"""The explicit schema file: what it declares and one-line errors for what the job cannot apply.

What a line becomes under a schema is the intake's contract table (intake_cases.py).
"""

from __future__ import annotations

import pytest

from gluescripts.etl.bundled import SCHEMA_FILE, bundled_text
from gluescripts.etl.schema import SchemaError, load_schema


def test_bundled_schema_loads():
    schema = load_schema(bundled_text(SCHEMA_FILE))
    assert schema.column_names[0] == "complaint_id"
    assert (schema.partition_column, schema.partition_source) == ("complaint_date", "filed_at")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("not json", "schema is not of the form"),
        ('{"columns": [1]}', "schema is not of the form"),
        ('{"columns": [{"name": "a", "type": "string"}], "partition": "a"}', "schema is not of the form"),
        ('{"columns": [], "partition": {"column": "d", "from": "t"}}', "schema declares no columns"),
        ('{"columns": [{"name": "a", "type": "uuid"}], "partition": {"column": "d", "from": "a"}}', "unsupported type 'uuid'"),
        ('{"columns": [{"name": "a", "type": "string"}], "partition": {"column": "d", "from": "a"}}', "must be a date or timestamp"),
        ('{"columns": [{"name": "_raw", "type": "string"}]}', "column name '_raw': expected a letter, then letters, digits or '_'"),
        ('{"columns": [{"name": "a.b", "type": "string"}]}', "column name 'a.b': expected a letter"),
        ('{"columns": [{"name": "ID", "type": "string"}, {"name": "id", "type": "int"}]}', "schema declares a column twice (names differ in case only"),
        ('{"columns": [{"name": "t", "type": "date"}], "partition": {"column": "day-1", "from": "t"}}', "column name 'day-1'"),
    ],
)
def test_invalid_schema_is_a_clear_error(document, message):
    with pytest.raises(SchemaError, match=message.replace("(", r"\(")):
        load_schema(document)
