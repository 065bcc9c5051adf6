"""The table's declared schema (schema.json): its columns, types and optional date partition.

Free of Spark, so the CDK app reads the same file (the job creates the tables from it).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

# Where each row of both tables came from: its source object (as Spark names the file it read) and
# that object's last-modified time (a producer may overwrite a key: another version, other records),
# the Glue job run, and when it ran.
SOURCE_OBJECT, SOURCE_MODIFIED_AT = "source_object", "source_modified_at"
LINEAGE_COLUMNS = (
    (SOURCE_OBJECT, "string"), (SOURCE_MODIFIED_AT, "timestamp"), ("job_run_id", "string"), ("ingested_at", "timestamp"),
)
SIMPLE_TYPES = ("string", "int", "bigint", "double", "boolean", "date", "timestamp")
# A catalog column name that cannot be one of the job's own columns (those start with "_") or a nested path.
_COLUMN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_DECIMAL = re.compile(r"^decimal\((\d{1,2}),(\d{1,2})\)$")


def decimal_precision(type_name: str) -> tuple[int, int] | None:
    """(precision, scale) of a valid `decimal(p,s)` type name, else None."""
    match = _DECIMAL.match(type_name)
    if match and 0 <= int(match[2]) <= int(match[1]) <= 38:
        return int(match[1]), int(match[2])
    return None


class SchemaError(ValueError):
    """The schema file is unreadable or declares something the job cannot apply."""


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str


@dataclass(frozen=True)
class TableSchema:
    """The declared columns, and the date or timestamp column the curated table is partitioned by, by day
    (`partition_column` names that partition field; None: unpartitioned)."""

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
    for name in schema.column_names + ((schema.partition_column,) if schema.partition_column else ()):
        if not _COLUMN_NAME.fullmatch(name):
            raise SchemaError(
                f"column name {name!r}: expected a letter, then letters, digits or '_' (a catalog column, and no name of the job's own)"
            )
    lineage = {name for name, _ in LINEAGE_COLUMNS}
    for name in schema.column_names:
        if name.lower() in lineage:
            raise SchemaError(f"column name {name!r} is one of the job's lineage columns ({', '.join(sorted(lineage))})")
    if len({name.lower() for name in schema.column_names}) != len(columns):
        raise SchemaError("schema declares a column twice (names differ in case only count as the same: Spark and the catalog ignore case)")
    for column in columns:
        if column.type not in SIMPLE_TYPES and decimal_precision(column.type) is None:
            raise SchemaError(f"column {column.name!r} has unsupported type {column.type!r}")
    if schema.partition_column is None:
        return schema
    source_type = dict((c.name, c.type) for c in columns).get(schema.partition_source)
    if source_type not in ("date", "timestamp"):
        raise SchemaError(f"partition source {schema.partition_source!r} must be a date or timestamp column")
    if schema.partition_column in schema.column_names:
        raise SchemaError(f"partition column {schema.partition_column!r} must not also be a data column")
    return schema
