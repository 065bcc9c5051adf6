"""The data contract as one table: each kind of input line and exactly what becomes of it.

Every line is run through the intake alone (test_intake.py), through `process_batch`
(test_pipeline.py) and through `run_local` end to end (test_run_local.py). A record is either
`Written` with exactly these values in every column, or `Quarantined` with exactly this text and
these reasons.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from gluescripts.etl.schema import load_schema

SCHEMA_DOCUMENT = {
    "columns": [
        {"name": "id", "type": "string"},
        {"name": "n", "type": "int"},
        {"name": "big", "type": "bigint"},
        {"name": "x", "type": "double"},
        {"name": "amount", "type": "decimal(6,2)"},
        {"name": "wide", "type": "decimal(38,2)"},
        {"name": "ok", "type": "boolean"},
        {"name": "day", "type": "date"},
        {"name": "at", "type": "timestamp"},
    ],
    "partition": {"column": "event_date", "from": "at"},
}
SCHEMA = load_schema(json.dumps(SCHEMA_DOCUMENT))
RULESET = 'Rules = [ IsComplete "id" ]'
NOON = datetime(2026, 11, 30, 12)
AT = '"at": "2026-11-30T12:00:00Z"'


@dataclass(frozen=True)
class Written:
    """A record in the curated output with these values; every other column NULL."""

    values: dict

    def row(self) -> dict:
        return {column: None for column in SCHEMA.column_names} | self.values


@dataclass(frozen=True)
class Quarantined:
    text: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Case:
    kind: str
    line: bytes
    outcomes: tuple = field(default=())
    # Decided after the intake, by the routing (a rule): the intake accepts it.
    routed: bool = False

    @property
    def id(self) -> str:
        return self.kind


def case(kind: str, line: str | bytes, *outcomes, routed: bool = False) -> Case:
    return Case(kind, line if isinstance(line, bytes) else line.encode("utf-8"), outcomes, routed)


def malformed(kind: str, line: str, reason: str) -> Case:
    return case(kind, line, Quarantined(line, (reason,)))


def wrong(kind: str, line: str, *reasons: str) -> Case:
    return case(kind, line, Quarantined(line, ("; ".join(reasons),)))


INT = "expected a JSON integer from -2147483648 to 2147483647"
TS = "expected a JSON string YYYY-MM-DDTHH:MM:SS[.ffffff][Z|+HH:MM|-HH:MM]"
DATE = "expected a JSON string YYYY-MM-DD"
DECIMAL = "expected a JSON number with at most 4 integer and 2 fractional digits"
DOUBLE = "expected a JSON number within the range of a double"
DEEP = '{"id": "deep", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"

CASES = (
    # Well-formed: written with exactly the values sent.
    case(
        "every type at its limits",
        '{"id": "limits", "n": -2147483648, "big": 9223372036854775807, "x": 1.5e300, "amount": -9999.99, '
        '"ok": false, "day": "0001-01-01", "at": "2026-11-30T23:59:59.999999Z"}',
        Written({"id": "limits", "n": -2147483648, "big": 9223372036854775807, "x": 1.5e300, "amount": Decimal("-9999.99"),
                 "ok": False, "day": date(1, 1, 1), "at": datetime(2026, 11, 30, 23, 59, 59, 999999)}),
    ),
    case("the last day Spark holds", '{"id": "last-day", "day": "9999-12-31", "at": "2026-11-01T00:00:00Z"}',
         Written({"id": "last-day", "day": date(9999, 12, 31), "at": datetime(2026, 11, 1)})),
    case("a timestamp with an offset, converted to UTC", '{"id": "offset", "at": "2026-12-01T00:30:00+01:00"}',
         Written({"id": "offset", "at": datetime(2026, 11, 30, 23, 30)})),
    case("a timestamp without an offset, read as UTC", '{"id": "no-offset", "at": "2026-11-30T10:00:00.5"}',
         Written({"id": "no-offset", "at": datetime(2026, 11, 30, 10, 0, 0, 500000)})),
    case("the last time of day at the widest offset", '{"id": "late", "at": "2026-11-30T23:59:59-23:59"}',
         Written({"id": "late", "at": datetime(2026, 12, 1, 23, 58, 59)})),
    # The first instant, 0001-01-01T00:00:00Z, is in test_intake.py only: PySpark cannot collect it (its
    # conversion to a Python datetime passes through year 0).
    case("the last instant Spark holds", '{"id": "last", "at": "9999-12-31T23:59:59.999999Z"}',
         Written({"id": "last", "at": datetime(9999, 12, 31, 23, 59, 59, 999999)})),
    case("an integer for a decimal", '{"id": "whole", "amount": 12, %s}' % AT, Written({"id": "whole", "amount": Decimal("12.00"), "at": NOON})),
    case("the widest decimal at its limit", '{"id": "wide", "wide": -999999999999999999999999999999999999.99, %s}' % AT,
         Written({"id": "wide", "wide": Decimal("-999999999999999999999999999999999999.99"), "at": NOON})),
    case("negative zero: an integer literal is 0, a fraction keeps its sign", '{"id": "zeros", "x": -0, "amount": -0.0, %s}{"id": "zero-fraction", "x": -0.0, %s}' % (AT, AT),
         Written({"id": "zeros", "x": 0.0, "amount": Decimal("0.00"), "at": NOON}), Written({"id": "zero-fraction", "x": -0.0, "at": NOON})),
    case("null and absent fields", '{"id": "nulls", "n": null, "ok": null, "at": "2026-11-30T12:00:00Z"}', Written({"id": "nulls", "at": NOON})),
    case("a decimal that fits exactly, trailing zeros and exponent", '{"id": "exact", "amount": 1.5E2, "x": 0.1, "at": "2026-11-30T12:00:00Z"}',
         Written({"id": "exact", "amount": Decimal("150.00"), "x": 0.1, "at": NOON})),
    case("escapes and characters beyond ASCII", '{"id": "caf\\u00e9 \\ud83d\\ude00 \\"q\\" \u2028", "at": "2026-11-30T12:00:00Z"}',
         Written({"id": 'café \U0001F600 "q" \u2028', "at": NOON})),
    case("a field the schema does not declare", '{"id": "extra", "colour": "red", "n": 7, "at": "2026-11-30T12:00:00Z"}', Written({"id": "extra", "n": 7, "at": NOON})),
    case("a byte order mark before the first object", '\ufeff{"id": "bom", "at": "2026-11-30T12:00:00Z"}', Written({"id": "bom", "at": NOON})),
    case("whitespace around an object", ' \t{"id": "padded", "at": "2026-11-30T12:00:00Z"} \t', Written({"id": "padded", "at": NOON})),
    case("objects one after another", '{"id": "c1", "at": "2026-11-30T12:00:00Z"}{"id": "c2", "at": "2026-11-30T12:00:00Z"}', Written({"id": "c1", "at": NOON}), Written({"id": "c2", "at": NOON})),
    case("objects with whitespace between", '{"id": "c3", "at": "2026-11-30T12:00:00Z"} \t {"id": "c4", "at": "2026-11-30T12:00:00Z"}', Written({"id": "c3", "at": NOON}), Written({"id": "c4", "at": NOON})),
    case(
        "objects one after another, one of them malformed",
        '{"id": "c5", "at": "2026-11-30T12:00:00Z"}{"id": "c6", "n": "7"}',
        Written({"id": "c5", "at": NOON}),
        Quarantined('{"id": "c6", "n": "7"}', (f"field 'n' is not a valid int: \"7\"; {INT}",)),
    ),
    case("a line of whitespace only holds no record", " \t "),
    case("an empty line holds no record", ""),
    # Malformed lines: the whole line quarantined as it arrived.
    malformed("a truncated object", '{"id": "t", "n": 3', "malformed JSON at column 19: Expecting ',' delimiter"),
    malformed("text after an object", '{"id": "after"} and more',
              "not JSON records: text that is not JSON at column 17 follows a JSON object on the line"),
    malformed("an array after an object", '{"id": "a1"} [1]', "not JSON records: an array at column 14 follows a JSON object on the line"),
    malformed("an array", '["a", 1]', "not a JSON object: the line holds an array at column 1"),
    malformed("a bare number", "7", "not a JSON object: the line holds a number at column 1"),
    malformed("a bare string", '"text"', "not a JSON object: the line holds a string at column 1"),
    malformed("a bare true", "true", "not a JSON object: the line holds true or false at column 1"),
    malformed("null", "null", "not a JSON object: the line holds null at column 1"),
    malformed("plain text", "plain text", "not a JSON object: the line holds text that is not JSON at column 1"),
    malformed("single quotes", "{'id': 'q'}", "malformed JSON at column 2: Expecting property name enclosed in double quotes"),
    malformed("NaN", '{"id": "nan", "x": NaN}', "malformed JSON in the object at column 1: NaN is not a JSON value"),
    malformed("-Infinity", '{"id": "inf", "x": -Infinity}', "malformed JSON in the object at column 1: -Infinity is not a JSON value"),
    malformed("a comment after an object", '{"id": "comment"} // note',
              "not JSON records: text that is not JSON at column 19 follows a JSON object on the line"),
    malformed("a comment before an object", '/* note */ {"id": "comment"}',
              "not a JSON object: the line holds text that is not JSON at column 1"),
    malformed("a trailing comma", '{"id": "tc",}', "malformed JSON at column 13: Expecting property name enclosed in double quotes"),
    malformed("a leading zero", '{"id": "zero", "n": 07}', "malformed JSON at column 22: Expecting ',' delimiter"),
    malformed("a field twice", '{"id": "dup", "id": "dup2"}', "malformed JSON in the object at column 1: field 'id' appears twice in one object"),
    malformed("a later field twice", '{"id": "dup3", "n": 1, "n": 2}', "malformed JSON in the object at column 1: field 'n' appears twice in one object"),
    malformed("a control character inside a string", '{"id": "tab\there"}', "malformed JSON at column 12: Invalid control character at"),
    malformed("a non-breaking space between objects", '{"id": "s1"}\u00a0{"id": "s2"}',
              "not JSON records: text that is not JSON at column 13 follows a JSON object on the line"),
    malformed("nesting too deep to read", DEEP, "malformed JSON in the object at column 1: nested too deeply to read"),
    malformed("an exponent too large to read", '{"id": "e", "extra": 1e99999999999999999999}',
              "malformed JSON in the object at column 1: a number with an exponent too large to read"),
    malformed("an integer of more than 4,300 digits, even undeclared, and its neighbours on the line",
              '{"id": "n1", %s}{"id": "n2", "extra": %s}' % (AT, "9" * 4301),
              "malformed JSON in the object at column 43: an integer of more than 4,300 digits, beyond what Python converts"),
    case(
        "bytes that are not UTF-8",
        b'{"id": "\xff\xfe"}',
        Quarantined("eyJpZCI6ICL//iJ9", ("line is not UTF-8 text (invalid byte at offset 8); the record holds the line's bytes in base64",)),
    ),
    # Values of another type or that do not fit: the record quarantined with its own text.
    wrong("a number for a string", '{"id": 5}', "field 'id' is not a valid string: 5; expected a JSON string"),
    wrong("an object for a string", '{"id": {"a": 1}}', "field 'id' is not a valid string: {\"a\": 1}; expected a JSON string"),
    wrong("an array for a string", '{"id": ["a"]}', "field 'id' is not a valid string: [\"a\"]; expected a JSON string"),
    wrong("an unpaired surrogate", '{"id": "\\ud800"}',
          "field 'id' is not a valid string: \"\\ud800\" (holds an unpaired UTF-16 surrogate escape, which is no Unicode text); expected a JSON string"),
    wrong("a string for an int", '{"id": "i1", "n": "42"}', f"field 'n' is not a valid int: \"42\"; {INT}"),
    wrong("a fraction for an int", '{"id": "i2", "n": 1.5}', f"field 'n' is not a valid int: 1.5; {INT}"),
    wrong("a whole number with a fraction part for an int", '{"id": "i3", "n": 1.0}', f"field 'n' is not a valid int: 1.0; {INT}"),
    wrong("an exponent for an int", '{"id": "i4", "n": 1e2}', f"field 'n' is not a valid int: 1E+2; {INT}"),
    wrong("an int out of range", '{"id": "i5", "n": 2147483648}', f"field 'n' is not a valid int: 2147483648; {INT}"),
    wrong("true for an int", '{"id": "i6", "n": true}', f"field 'n' is not a valid int: true; {INT}"),
    wrong("a bigint out of range", '{"id": "b1", "big": -9223372036854775809}',
          "field 'big' is not a valid bigint: -9223372036854775809; expected a JSON integer from -9223372036854775808 to 9223372036854775807"),
    wrong("a string for a double", '{"id": "d1", "x": "1.5"}', f"field 'x' is not a valid double: \"1.5\"; {DOUBLE}"),
    wrong("a double overflowing", '{"id": "d2", "x": 1e400}', f"field 'x' is not a valid double: 1E+400; {DOUBLE}"),
    wrong("a double underflowing to zero", '{"id": "d3", "x": 1e-400}', f"field 'x' is not a valid double: 1E-400; {DOUBLE}"),
    wrong("more fractional digits than the scale", '{"id": "m1", "amount": 1.234}', f"field 'amount' is not a valid decimal(6,2): 1.234; {DECIMAL}"),
    wrong("more integer digits than the precision", '{"id": "m2", "amount": 10000}', f"field 'amount' is not a valid decimal(6,2): 10000; {DECIMAL}"),
    wrong("more digits than the widest decimal holds", '{"id": "m4", "wide": 1000000000000000000000000000000000000}',
          "field 'wide' is not a valid decimal(38,2): 1000000000000000000000000000000000000; "
          "expected a JSON number with at most 36 integer and 2 fractional digits"),
    wrong("a string for a decimal", '{"id": "m3", "amount": "1.50"}', f"field 'amount' is not a valid decimal(6,2): \"1.50\"; {DECIMAL}"),
    wrong("a string for a boolean", '{"id": "o1", "ok": "yes"}', "field 'ok' is not a valid boolean: \"yes\"; expected true or false"),
    wrong("a number for a boolean", '{"id": "o2", "ok": 1}', "field 'ok' is not a valid boolean: 1; expected true or false"),
    wrong("an impossible date", '{"id": "t1", "day": "2026-02-30"}', f"field 'day' is not a valid date: \"2026-02-30\" (is no calendar date); {DATE}"),
    wrong("a date with trailing text", '{"id": "t2", "day": "2026-11-01T10:00:00"}', f"field 'day' is not a valid date: \"2026-11-01T10:00:00\"; {DATE}"),
    wrong("a year alone", '{"id": "t3", "day": "2026"}', f"field 'day' is not a valid date: \"2026\"; {DATE}"),
    wrong("a date with digits of another script", '{"id": "t4", "day": "\u0662026-11-01"}',
          f"field 'day' is not a valid date: \"\\u0662026-11-01\"; {DATE}"),
    wrong("a date for a timestamp", '{"id": "s1", "at": "2026-11-01"}', f"field 'at' is not a valid timestamp: \"2026-11-01\"; {TS}"),
    wrong("a space for the T", '{"id": "s2", "at": "2026-11-01 10:00:00"}', f"field 'at' is not a valid timestamp: \"2026-11-01 10:00:00\"; {TS}"),
    wrong("more than microseconds", '{"id": "s3", "at": "2026-11-01T10:00:00.1234567Z"}',
          f"field 'at' is not a valid timestamp: \"2026-11-01T10:00:00.1234567Z\"; {TS}"),
    wrong("hour 24", '{"id": "s4", "at": "2026-11-01T24:00:00Z"}', f"field 'at' is not a valid timestamp: \"2026-11-01T24:00:00Z\" (is no time of day); {TS}"),
    wrong("a leap second", '{"id": "s5", "at": "2016-12-31T23:59:60Z"}', f"field 'at' is not a valid timestamp: \"2016-12-31T23:59:60Z\" (is no time of day); {TS}"),
    wrong("minute 60", '{"id": "s10", "at": "2026-11-01T10:60:00Z"}', f"field 'at' is not a valid timestamp: \"2026-11-01T10:60:00Z\" (is no time of day); {TS}"),
    wrong("an offset beyond a day", '{"id": "s6", "at": "2026-11-01T10:00:00+24:00"}',
          f"field 'at' is not a valid timestamp: \"2026-11-01T10:00:00+24:00\" (has no valid UTC offset); {TS}"),
    wrong("an offset's minutes beyond 59", '{"id": "s9", "at": "2026-11-01T10:00:00+00:60"}',
          f"field 'at' is not a valid timestamp: \"2026-11-01T10:00:00+00:60\" (has no valid UTC offset); {TS}"),
    wrong("a value shown in full up to 100 characters", '{"id": "v1", "n": "%s"}' % ("7" * 98), f"field 'n' is not a valid int: \"{'7' * 98}\"; {INT}"),
    wrong("a longer value cut short in the reason, never in the record", '{"id": "v2", "n": "%s"}' % ("7" * 99),
          f"field 'n' is not a valid int: \"{'7' * 99}...; {INT}"),
    wrong("before the year 1 in UTC", '{"id": "s7", "at": "0001-01-01T00:30:00+01:00"}',
          f"field 'at' is not a valid timestamp: \"0001-01-01T00:30:00+01:00\" (is outside the years 0001 to 9999 in UTC); {TS}"),
    wrong("relative words for a timestamp", '{"id": "s8", "at": "yesterday"}', f"field 'at' is not a valid timestamp: \"yesterday\"; {TS}"),
    wrong("two wrong fields", '{"id": "w2", "n": "x", "ok": 1}',
          f"field 'n' is not a valid int: \"x\"; {INT}", "field 'ok' is not a valid boolean: 1; expected true or false"),
    # Accepted by the intake, quarantined by the routing with their exact text.
    case("a row rule broken, with odd spacing and an undeclared field", '{ "n" : 1,  "colour": "red", "at": "2026-11-30T12:00:00Z" }',
         Quarantined('{ "n" : 1,  "colour": "red", "at": "2026-11-30T12:00:00Z" }', ('IsComplete "id"',)), routed=True),
    # Any partition date is written: Iceberg's hidden partitioning has no window and keeps a NULL date.
    case("a partition date long ago", '{"id": "old", "at": "1999-12-31T23:59:59Z"}',
         Written({"id": "old", "at": datetime(1999, 12, 31, 23, 59, 59)})),
    case("a partition date far ahead", '{"id": "future", "at": "9999-12-31T00:00:00Z"}',
         Written({"id": "future", "at": datetime(9999, 12, 31)})),
    case("no partition date", '{"id": "undated"}', Written({"id": "undated"})),
    case("the first day of the year 2000", '{"id": "first", "at": "2000-01-01T00:00:00Z"}',
         Written({"id": "first", "at": datetime(2000, 1, 1)})),
)

LINES = tuple(c.line for c in CASES)
WRITTEN = tuple(o for c in CASES for o in c.outcomes if isinstance(o, Written))
QUARANTINED = tuple(o for c in CASES for o in c.outcomes if isinstance(o, Quarantined))


def row_key(row: dict) -> tuple:
    return tuple((k, repr(row[k])) for k in sorted(row))


def assert_written_exactly(rows: list[dict]) -> None:
    """The curated rows are exactly the table's Written records, every column compared."""
    assert sorted(map(row_key, rows)) == sorted(row_key(w.row()) for w in WRITTEN)


def quarantine_key(record: str, reasons) -> tuple:
    return record, tuple(reasons)


def assert_quarantined_exactly(records: list[tuple[str, tuple[str, ...]]]) -> None:
    """The quarantined records are exactly the table's, each with its exact text and reasons."""
    expected = [quarantine_key(q.text, tuple(q.reasons)) for q in QUARANTINED]
    assert sorted(records) == sorted(expected)
