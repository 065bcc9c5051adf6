"""The table's explicit schema (schema.json) in Spark: its types, and the strict intake run over a frame of lines.

What a record is and which values are accepted is `intake`'s; this module runs it on Spark's
executors through Arrow (`mapInArrow`), so the JVM never parses or converts a value on its own terms.
"""

from __future__ import annotations

import functools
import gc
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from gluescripts.etl.intake import RecordParser
from gluescripts.etl.table_schema import (
    SOURCE_MODIFIED_AT, SOURCE_OBJECT, ColumnSpec, SchemaError, TableSchema, decimal_precision, load_schema,
)

__all__ = ["ColumnSpec", "SchemaError", "TableSchema", "load_schema", "lines_with_source", "parse_json_lines", "source_key", "spark_type"]
# One version of one source object, as text: its name and its last-modified time. The same SQL
# expression serves the batch (a Column) and the table's MERGE condition.
SOURCE_KEY_SQL = f"concat_ws('@', {SOURCE_OBJECT}, date_format({SOURCE_MODIFIED_AT}, \"yyyy-MM-dd'T'HH:mm:ss.SSSSSS\"))"


def source_key() -> Column:
    return F.expr(SOURCE_KEY_SQL)


def lines_with_source(lines: DataFrame) -> DataFrame:
    """The lines of a file source (`spark.read.text`) with the object and version each came from."""
    return lines.select(
        "value",
        F.col("_metadata.file_path").alias(SOURCE_OBJECT),
        F.col("_metadata.file_modification_time").alias(SOURCE_MODIFIED_AT),
    )

RAW = "_raw"
MALFORMED_REASON = "_malformed_reason"
UNKNOWN_FIELDS = "_unknown_fields"
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


def _arrow_types(type_name: str):
    """(the Arrow type a column is built in, the type it is cast to for Spark, or None when the same)."""
    import pyarrow as pa

    simple = {"string": pa.string(), "int": pa.int32(), "bigint": pa.int64(), "double": pa.float64(), "boolean": pa.bool_()}
    if type_name in simple:
        return simple[type_name], None
    # Dates and timestamps are built from their integer encodings: exact, with no time zone or
    # calendar conversion in between. Spark reads a TimestampType from microseconds in UTC
    # (pyspark.sql.pandas.types.to_arrow_type).
    if type_name == "date":
        return pa.int32(), pa.date32()
    if type_name == "timestamp":
        return pa.int64(), pa.timestamp("us", tz="UTC")
    return pa.decimal128(*decimal_precision(type_name)), None


def _records_as_arrow(columns: tuple[ColumnSpec, ...], batches):
    """mapInArrow's function: batches of line bytes in, batches of parsed records out (runs on the executors)."""
    parser = RecordParser(columns)
    types = [_arrow_types(c.type) for c in columns]
    names = [RAW, SOURCE_OBJECT, SOURCE_MODIFIED_AT, MALFORMED_REASON, UNKNOWN_FIELDS, *(c.name for c in columns)]
    for batch in batches:
        # A batch's objects hold no reference cycles, so the cycle collector only costs time here
        # (a third of the conversion, measured): reference counting frees them.
        gc.disable()
        try:
            converted = _converted(parser, batch, types, names)
        finally:
            gc.enable()
        if converted is not None:
            yield converted


def _converted(parser: RecordParser, batch, types: list, names: list):
    import pyarrow as pa

    lines = batch.column(0).to_pylist()
    # Each record keeps the index of its line, so its source columns are taken from that line.
    parsed = [(record, index) for index, line in enumerate(lines) for record in parser.parse_line(line or b"")]
    if not parsed:
        return None
    records, line_indexes = zip(*parsed)
    texts, values, reasons, unknown = zip(*records)
    taken = pa.array(line_indexes, pa.int64())
    arrays = [
        pa.array(texts, pa.string()), batch.column(1).take(taken), batch.column(2).take(taken),
        pa.array(reasons, pa.string()), pa.array(unknown, pa.list_(pa.string())),
    ]
    no_values = (None,) * len(types)
    by_column = zip(*(row if row is not None else no_values for row in values))
    for (built, cast), column_values in zip(types, by_column):
        array = pa.array(column_values, built)
        arrays.append(array if cast is None else array.cast(cast))
    return pa.RecordBatch.from_arrays(arrays, names=names)


def parse_json_lines(lines: DataFrame, schema: TableSchema) -> DataFrame:
    """Turn a frame of lines (`value`, `source_object`, `source_modified_at`: `lines_with_source`) into
    one row per record: `_raw`, the two source columns, `_malformed_reason`, `_unknown_fields` and the typed columns.

    The strict intake (`intake.RecordParser`) runs on the executors through Arrow. `_raw` is the
    record's exact text; for a malformed record `_malformed_reason` says what is wrong and the typed
    columns are NULL. `_unknown_fields` lists the top-level fields a well-formed record has beyond
    the declared ones (NULL when none): they are not written, only counted and reported, so schema
    drift is visible.
    """
    fields = [T.StructField(RAW, T.StringType()), T.StructField(SOURCE_OBJECT, T.StringType()),
              T.StructField(SOURCE_MODIFIED_AT, T.TimestampType()),
              T.StructField(MALFORMED_REASON, T.StringType()), T.StructField(UNKNOWN_FIELDS, T.ArrayType(T.StringType()))]
    fields += [T.StructField(c.name, spark_type(c.type)) for c in schema.columns]
    # Bytes, not text: a line that is not UTF-8 reaches the parser as it is in the file.
    as_bytes = lines.select(F.col("value").cast("binary").alias("value"), SOURCE_OBJECT, SOURCE_MODIFIED_AT)
    return as_bytes.mapInArrow(functools.partial(_records_as_arrow, schema.columns), T.StructType(fields))
