"""The table's explicit schema (schema.json) and the parsing of JSON lines against it.

Every line is parsed into the declared types: a record is either fully typed or marked malformed
with a reason naming the offending field; nothing is silently turned into NULL. Types are strict,
as in JSON: "42" (a string) is not an int and "yes" is not a boolean.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from gluescripts.etl.table_schema import ColumnSpec, SchemaError, TableSchema, decimal_precision, load_schema

__all__ = ["ColumnSpec", "SchemaError", "TableSchema", "load_schema", "parse_json_lines", "spark_type", "with_partition_column"]

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


def spark_type(type_name: str) -> T.DataType:
    """The Spark type of a schema.json type name, or `SchemaError`."""
    if type_name in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[type_name]
    precision = decimal_precision(type_name)
    if precision is not None:
        return T.DecimalType(*precision)
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
