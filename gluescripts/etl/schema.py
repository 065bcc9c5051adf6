"""The table's explicit schema (schema.json) and the parsing of JSON lines against it.

Every field is first read as text and then cast to its declared type, so a record is either fully
typed or marked malformed with a reason naming the field; nothing is silently turned into NULL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

RAW = "_raw"
MALFORMED_REASON = "_malformed_reason"
_CORRUPT = "_corrupt_record"
SUPPORTED_TYPES = ("string", "int", "bigint", "double", "boolean", "date", "timestamp")


class SchemaError(ValueError):
    """The schema file is unreadable or declares something the job cannot apply."""


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str


@dataclass(frozen=True)
class TableSchema:
    columns: tuple[ColumnSpec, ...]
    partition_column: str
    partition_source: str

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)


def load_schema(text: str) -> TableSchema:
    """Parse schema.json's text into a `TableSchema`, or raise `SchemaError`."""
    try:
        document = json.loads(text)
        columns = tuple(ColumnSpec(str(c["name"]), str(c["type"])) for c in document["columns"])
        partition = document["partition"]
        schema = TableSchema(columns, str(partition["column"]), str(partition["from"]))
    except (ValueError, KeyError, TypeError) as problem:
        raise SchemaError(f"schema is not of the form {{columns: [{{name, type}}], partition: {{column, from}}}}: {problem}") from None
    if not columns:
        raise SchemaError("schema declares no columns")
    if len(set(schema.column_names)) != len(columns):
        raise SchemaError("schema declares a column twice")
    for column in columns:
        if not column.type.startswith("decimal") and column.type not in SUPPORTED_TYPES:
            raise SchemaError(f"column {column.name!r} has unsupported type {column.type!r}")
    source_type = dict((c.name, c.type) for c in columns).get(schema.partition_source)
    if source_type not in ("date", "timestamp"):
        raise SchemaError(f"partition source {schema.partition_source!r} must be a date or timestamp column")
    if schema.partition_column in schema.column_names:
        raise SchemaError(f"partition column {schema.partition_column!r} must not also be a data column")
    return schema


def _try_cast(column: Column, spec: ColumnSpec) -> Column:
    if spec.type == "string":
        return column
    if spec.type == "boolean":
        # Spark casts "1"/"yes"/"t" to true; JSON booleans arrive as exactly "true"/"false".
        return F.when(F.lower(column).isin("true", "false"), F.lower(column) == "true")
    return F.expr(f"try_cast(`{_text(spec.name)}` AS {spec.type})")


def _text(name: str) -> str:
    return f"__text_{name}"


def parse_json_lines(lines: DataFrame, schema: TableSchema) -> DataFrame:
    """Turn a one-column frame of JSON lines (`value`) into typed columns plus `_raw` and `_malformed_reason`.

    `_malformed_reason` is NULL for a well-formed record. Otherwise it says why: the line is not a
    JSON object, or a named field holds a value that does not cast to its declared type.
    """
    text_schema = T.StructType(
        [T.StructField(c.name, T.StringType()) for c in schema.columns] + [T.StructField(_CORRUPT, T.StringType())]
    )
    parsed = lines.select(
        F.col("value").alias(RAW),
        F.from_json(
            "value", text_schema, {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": _CORRUPT}
        ).alias("record"),
    ).select(
        RAW,
        (F.col("record").isNull() | F.col(f"record.{_CORRUPT}").isNotNull()).alias(_CORRUPT),
        *[F.col(f"record.`{c.name}`").alias(_text(c.name)) for c in schema.columns],
    )
    typed = parsed.select(
        RAW,
        _CORRUPT,
        *[F.col(_text(c.name)) for c in schema.columns],
        *[_try_cast(F.col(_text(c.name)), c).alias(c.name) for c in schema.columns],
    )
    cast_failures = [
        F.when(
            F.col(_text(c.name)).isNotNull() & F.col(c.name).isNull(),
            F.concat(F.lit(f"field '{c.name}' is not a valid {c.type}: "), F.substring(F.col(_text(c.name)), 1, 100)),
        )
        for c in schema.columns
        if c.type != "string"
    ]
    reason = F.when(F.col(_CORRUPT), F.lit("malformed JSON: not a parseable JSON object")).otherwise(
        F.concat_ws("; ", *cast_failures) if cast_failures else F.lit("")
    )
    return typed.select(RAW, F.when(reason != "", reason).alias(MALFORMED_REASON), *[F.col(c.name) for c in schema.columns])


def with_partition_column(records: DataFrame, schema: TableSchema) -> DataFrame:
    """Add the date column the output is partitioned by, derived from its source column."""
    return records.withColumn(schema.partition_column, F.to_date(F.col(schema.partition_source)))
