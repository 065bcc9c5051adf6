"""The table's explicit schema (schema.json) and the parsing of JSON lines against it.

Every line is parsed into the declared types: a record is either fully typed or marked malformed
with a reason naming the offending field; nothing is silently turned into NULL. Types are strict,
as in JSON: "42" (a string) is not an int and "yes" is not a boolean.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

RAW = "_raw"
MALFORMED_REASON = "_malformed_reason"
UNKNOWN_FIELDS = "_unknown_fields"
_CORRUPT = "_corrupt_record"
_SIMPLE_TYPES = {
    "string": T.StringType(),
    "int": T.IntegerType(),
    "bigint": T.LongType(),
    "double": T.DoubleType(),
    "boolean": T.BooleanType(),
    "date": T.DateType(),
    "timestamp": T.TimestampType(),
}
_DECIMAL = re.compile(r"^decimal\((\d{1,2}),(\d{1,2})\)$")


class SchemaError(ValueError):
    """The schema file is unreadable or declares something the job cannot apply."""


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str


@dataclass(frozen=True)
class TableSchema:
    """The declared columns, and the date partition derived from one of them (None: unpartitioned)."""

    columns: tuple[ColumnSpec, ...]
    partition_column: str | None = None
    partition_source: str | None = None

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)


def load_schema(text: str) -> TableSchema:
    """Parse schema.json's text into a `TableSchema`, or raise `SchemaError`.

    The form is `{"columns": [{"name", "type"}, ...], "partition": {"column", "from"}}`; `partition`
    is optional, and without it the output is written unpartitioned.
    """
    try:
        document = json.loads(text)
        columns = tuple(ColumnSpec(str(c["name"]), str(c["type"])) for c in document["columns"])
        partition = document.get("partition")
        schema = TableSchema(columns, str(partition["column"]), str(partition["from"])) if partition else TableSchema(columns)
    except (ValueError, KeyError, TypeError, AttributeError) as problem:
        raise SchemaError(
            f"schema is not of the form {{columns: [{{name, type}}], partition (optional): {{column, from}}}}: {problem}"
        ) from None
    if not columns:
        raise SchemaError("schema declares no columns")
    if len(set(schema.column_names)) != len(columns):
        raise SchemaError("schema declares a column twice")
    for column in columns:
        try:
            spark_type(column.type)
        except SchemaError:
            raise SchemaError(f"column {column.name!r} has unsupported type {column.type!r}") from None
    if schema.partition_column is None:
        return schema
    source_type = dict((c.name, c.type) for c in columns).get(schema.partition_source)
    if source_type not in ("date", "timestamp"):
        raise SchemaError(f"partition source {schema.partition_source!r} must be a date or timestamp column")
    if schema.partition_column in schema.column_names:
        raise SchemaError(f"partition column {schema.partition_column!r} must not also be a data column")
    return schema


def spark_type(type_name: str) -> T.DataType:
    """The Spark type of a schema.json type name, or `SchemaError`."""
    if type_name in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[type_name]
    decimal = _DECIMAL.match(type_name)
    if decimal and 0 <= int(decimal[2]) <= int(decimal[1]) <= 38:
        return T.DecimalType(int(decimal[1]), int(decimal[2]))
    raise SchemaError(f"unsupported type {type_name!r}")


def _struct(columns: tuple[ColumnSpec, ...], as_text: bool = False) -> T.StructType:
    fields = [T.StructField(c.name, T.StringType() if as_text else spark_type(c.type)) for c in columns]
    return T.StructType(fields + [T.StructField(_CORRUPT, T.StringType())])


def _parse(text: Column, schema: T.StructType) -> Column:
    return F.from_json(text, schema, {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": _CORRUPT})


def _why_malformed(text: Column, schema: TableSchema) -> Column:
    """Why a line failed to parse: not a JSON object, or which fields hold values of the wrong type.

    Only evaluated for lines that failed, so parsing each field on its own here costs nothing on
    good data.
    """
    as_text = _parse(text, _struct(schema.columns, as_text=True))
    wrong_fields = [
        F.when(
            _parse(text, _struct((c,)))[_CORRUPT].isNotNull(),
            F.concat(F.lit(f"field '{c.name}' is not a valid {c.type}: "), F.substring(as_text[c.name], 1, 100)),
        )
        for c in schema.columns
        if c.type != "string"
    ]
    not_an_object = as_text.isNull() | as_text[_CORRUPT].isNotNull()
    return F.when(not_an_object, F.lit("malformed JSON: not a parseable JSON object")).otherwise(
        F.coalesce(F.nullif(F.concat_ws("; ", *wrong_fields), F.lit("")), F.lit("record does not match the schema"))
    )


def parse_json_lines(lines: DataFrame, schema: TableSchema) -> DataFrame:
    """Turn a one-column frame of JSON lines (`value`) into typed columns plus `_raw`, `_malformed_reason`
    and `_unknown_fields`.

    Each line is parsed straight into the declared types. For a well-formed record
    `_malformed_reason` and `_raw` are NULL (the raw text is kept only where it is needed, which
    keeps the cached batch small); otherwise `_raw` is the line and the reason says what is wrong.
    `_unknown_fields` lists the top-level fields a well-formed record has beyond the declared ones
    (NULL when none): they are not written, only counted and reported, so schema drift is visible.
    """
    parsed = lines.select(F.col("value"), _parse(F.col("value"), _struct(schema.columns)).alias("record"))
    malformed = F.col("record").isNull() | F.col(f"record.{_CORRUPT}").isNotNull()
    undeclared = F.array_except(F.json_object_keys(F.col("value")), F.array(*[F.lit(n) for n in schema.column_names]))
    return parsed.select(
        F.when(malformed, F.col("value")).alias(RAW),
        F.when(malformed, _why_malformed(F.col("value"), schema)).alias(MALFORMED_REASON),
        F.when(~malformed & (F.size(undeclared) > 0), undeclared).alias(UNKNOWN_FIELDS),
        # A malformed record's fields are never used: it is counted apart and quarantined by its raw text.
        *[F.col(f"record.`{c.name}`").alias(c.name) for c in schema.columns],
    )


def with_partition_column(records: DataFrame, schema: TableSchema) -> DataFrame:
    """Add the date column the output is partitioned by, derived from its source column."""
    return records.withColumn(schema.partition_column, F.to_date(F.col(schema.partition_source)))
