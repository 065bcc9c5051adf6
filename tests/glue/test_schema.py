"""The explicit schema: casts to declared types, and malformed records kept with a reason."""

from __future__ import annotations

import datetime
import decimal
import json

import pytest

from gluescripts.etl.bundled import SCHEMA_FILE, bundled_text
from gluescripts.etl.schema import MALFORMED_REASON, RAW, SchemaError, load_schema, parse_json_lines

SCHEMA = load_schema(
    json.dumps(
        {
            "columns": [
                {"name": "id", "type": "string"},
                {"name": "at", "type": "timestamp"},
                {"name": "day", "type": "date"},
                {"name": "n", "type": "int"},
                {"name": "amount", "type": "decimal(6,2)"},
                {"name": "ok", "type": "boolean"},
            ],
            "partition": {"column": "event_date", "from": "at"},
        }
    )
)


def parse(spark, *lines: str) -> list[dict]:
    frame = spark.createDataFrame([(line,) for line in lines], "value string")
    return [row.asDict() for row in parse_json_lines(frame, SCHEMA).collect()]


def test_well_formed_record_is_cast_to_declared_types(spark):
    (row,) = parse(spark, '{"id": "a", "at": "2026-11-01T10:20:30Z", "day": "2026-10-31", "n": 7, "amount": 12.5, "ok": true}')
    assert row[MALFORMED_REASON] is None
    assert row["at"] == datetime.datetime(2026, 11, 1, 10, 20, 30)
    assert (row["day"], row["n"], row["amount"], row["ok"]) == (datetime.date(2026, 10, 31), 7, decimal.Decimal("12.50"), True)


def test_missing_fields_are_null_and_any_json_value_is_a_string(spark):
    (row,) = parse(spark, '{"id": 5, "n": 42}')
    assert (row["id"], row["n"], row["at"], row[MALFORMED_REASON], row[RAW]) == ("5", 42, None, None, None)


def test_types_are_strict_as_in_json(spark):
    (row,) = parse(spark, '{"id": "a", "n": "42"}')
    assert row[MALFORMED_REASON] == "field 'n' is not a valid int: 42"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"id": "a", "n": "many"}', "field 'n' is not a valid int: many"),
        ('{"id": "a", "n": 1.5}', "field 'n' is not a valid int: 1.5"),
        ('{"id": "a", "at": "yesterday"}', "field 'at' is not a valid timestamp: yesterday"),
        ('{"id": "a", "amount": 123456.78}', "field 'amount' is not a valid decimal(6,2): 123456.78"),
        ('{"id": "a", "ok": "yes"}', "field 'ok' is not a valid boolean: yes"),
        ('{"id": "a", "n": "x", "ok": 1}', "field 'n' is not a valid int: x; field 'ok' is not a valid boolean: 1"),
        ('{"id": "a", "n": 3', "malformed JSON: not a parseable JSON object"),
        ('["a", 1]', "malformed JSON: not a parseable JSON object"),
        ("null", "malformed JSON: not a parseable JSON object"),
        ("plain text", "malformed JSON: not a parseable JSON object"),
    ],
)
def test_malformed_record_keeps_raw_text_and_reason(spark, line, reason):
    (row,) = parse(spark, line)
    assert row[RAW] == line
    assert row[MALFORMED_REASON] == reason


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
    ],
)
def test_invalid_schema_is_a_clear_error(document, message):
    with pytest.raises(SchemaError, match=message.replace("(", r"\(")):
        load_schema(document)
