"""Strict intake: the bytes of one line of a source file to the records it holds, each typed or malformed.

Free of Spark: the job runs it on its executors (`schema.parse_json_lines`), and the tests drive it
directly. What it accepts is the data contract of the README ("What a record is"):

- A line holds JSON objects (RFC 8259), one after another, with or without JSON whitespace between
  them; each object is one record. A line holding anything else (a bare value, an array, text
  after an object, NaN, comments, single quotes, bytes that are not UTF-8, ...) is one malformed
  record. A line of JSON whitespace only holds no record. A leading byte order mark is ignored
  (RFC 8259 section 8.1 allows a parser to).
- A declared field is accepted only when its JSON value has the declared type and converts without
  loss; NULL (or an absent field) is NULL. Anything else makes the record malformed, with a reason
  naming each offending field and what it expects. Nothing is rounded, truncated or coerced.
- Every record keeps the exact text it arrived with (its object's characters, or the whole line when
  the line is malformed), so a quarantined record replays as it came.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import date, datetime, timedelta, timezone
from decimal import Context, Decimal, InvalidOperation
from math import isinf
from typing import Callable, NamedTuple

from gluescripts.etl.table_schema import ColumnSpec, decimal_precision

_JSON_WHITESPACE = re.compile(r"[ \t\n\r]*")
_BYTE_ORDER_MARK = "\ufeff"
# ASCII digits only: Python's \d also matches other scripts' digits.
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,6}))?(Z|[+-][0-9]{2}:[0-9]{2})?"
)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_MICROS_PER_DAY = 86_400_000_000
# Spark's TimestampType range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z.
_MIN_MICROS = (date(1, 1, 1).toordinal() - _EPOCH_ORDINAL) * _MICROS_PER_DAY
_MAX_MICROS = (date(9999, 12, 31).toordinal() - _EPOCH_ORDINAL + 1) * _MICROS_PER_DAY - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_MICROSECOND = timedelta(microseconds=1)
_SHOWN_CHARACTERS = 100

DATE_FORM = "YYYY-MM-DD"
TIMESTAMP_FORM = "YYYY-MM-DDTHH:MM:SS[.ffffff][Z|+HH:MM|-HH:MM]"


class _WrongValue(Exception):
    """A declared field's value does not have, or does not fit, the declared type."""


def _duplicate_free(pairs: list[tuple[str, object]]) -> dict:
    fields = dict(pairs)
    if len(fields) != len(pairs):
        seen: set[str] = set()
        twice = next(name for name, _ in pairs if name in seen or seen.add(name))
        # RFC 8259 section 4: with duplicate names, what a receiver reads is unpredictable.
        raise ValueError(f"field {_quoted(twice)} appears twice in one object")
    return fields


def _not_a_number(name: str) -> None:
    raise ValueError(f"{name} is not a JSON value")


# Numbers with a fraction or exponent arrive as exact Decimals, so no reading of them rounds.
_DECODER = json.JSONDecoder(object_pairs_hook=_duplicate_free, parse_constant=_not_a_number, parse_float=Decimal)
# What reading a valid-looking object can raise besides JSONDecodeError: the hooks' ValueError, an
# integer literal beyond Python's 4,300-digit conversion limit (ValueError), an exponent beyond what
# Decimal holds (InvalidOperation, an ArithmeticError), and nesting deeper than the stack (RecursionError).
_UNREADABLE = (ValueError, ArithmeticError, RecursionError)


def _unreadable(problem: Exception) -> str:
    if isinstance(problem, RecursionError):
        return "nested too deeply to read"
    if isinstance(problem, ArithmeticError):
        return "a number with an exponent too large to read"
    if "integer string conversion" in str(problem):
        return "an integer of more than 4,300 digits, beyond what Python converts"
    return str(problem)


def _printable(name: str) -> str:
    """A field name as text that encodes to UTF-8: an unpaired surrogate is shown as its escape."""
    return name if name.isascii() else name.encode("utf-8", "backslashreplace").decode("utf-8")


def _quoted(name: str) -> str:
    return f"'{_printable(name)}'"


def _shown(value: object) -> str:
    """A value as it reads in JSON, cut short: for reasons, never for data."""
    if isinstance(value, Decimal):
        text = str(value)
    else:
        try:
            text = json.dumps(value, default=str)
        except RecursionError:
            # Read at the edge of the stack, a value can be too deep to write back.
            text = "an array or object nested too deeply to show"
    return text if len(text) <= _SHOWN_CHARACTERS else text[:_SHOWN_CHARACTERS] + "..."


def _string(value: object) -> str:
    if type(value) is not str:
        raise _WrongValue
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise _WrongValue("holds an unpaired UTF-16 surrogate escape, which is no Unicode text") from None
    return value


def _integer(low: int, high: int) -> Callable[[object], int]:
    def accept(value: object) -> int:
        if type(value) is not int or not low <= value <= high:
            raise _WrongValue
        return value

    return accept


def _double(value: object) -> float:
    if type(value) is int or type(value) is Decimal:
        try:
            number = float(value)
        except OverflowError:
            raise _WrongValue from None
        # Binary64 holds the nearest double of any number in range; out of range it would be infinite or 0.
        if isinf(number) or (number == 0 and value != 0):
            raise _WrongValue
        return number
    raise _WrongValue


def _decimal(precision: int, scale: int) -> Callable[[object], Decimal]:
    # Quantized in a context of the column's precision: a value with more integer digits than
    # precision - scale signals InvalidOperation, so no separate bound is needed.
    quantum, exact = Decimal(1).scaleb(-scale), Context(prec=precision)

    def accept(value: object) -> Decimal:
        if type(value) is not int and type(value) is not Decimal:
            raise _WrongValue
        number = Decimal(value)
        try:
            scaled = number.quantize(quantum, context=exact)
        except InvalidOperation:
            raise _WrongValue from None
        if scaled != number:
            raise _WrongValue
        return scaled

    return accept


def _boolean(value: object) -> bool:
    if value is True or value is False:
        return value
    raise _WrongValue


def _date(value: object) -> int:
    """Days since 1970-01-01 of a `YYYY-MM-DD` calendar date."""
    match = _DATE.fullmatch(value) if type(value) is str else None
    if not match:
        raise _WrongValue
    try:
        return date(int(match[1]), int(match[2]), int(match[3])).toordinal() - _EPOCH_ORDINAL
    except ValueError:
        raise _WrongValue("is no calendar date") from None


def _timestamp(value: object) -> int:
    """Microseconds since 1970-01-01T00:00:00Z; without an offset the time is UTC."""
    match = _TIMESTAMP.fullmatch(value) if type(value) is str else None
    if not match:
        raise _WrongValue
    # Checked before Python reads it: fromisoformat takes an offset's minutes past 59 as more hours
    # ("+00:75" is +01:15), a value no ISO 8601 or RFC 3339 reader accepts.
    problem = _timestamp_problem(match)
    if problem:
        raise _WrongValue(problem)
    moment = datetime.fromisoformat(value)
    micros = ((moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)) - _EPOCH) // _ONE_MICROSECOND
    if not _MIN_MICROS <= micros <= _MAX_MICROS:
        raise _WrongValue("is outside the years 0001 to 9999 in UTC")
    return micros


def _timestamp_problem(match: re.Match) -> str | None:
    """What is wrong with the fields of a timestamp of the right form, or None when they are a date, a time of day and an offset."""
    year, month, day, hour, minute, second, _, offset = match.groups()
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        return "is no calendar date"
    if int(hour) > 23 or int(minute) > 59 or int(second) > 59:
        return "is no time of day"
    if offset and offset != "Z" and (int(offset[1:3]) > 23 or int(offset[4:6]) > 59):
        return "has no valid UTC offset"
    return None


_EXPECTED = {
    "string": ("a JSON string", _string),
    "int": ("a JSON integer from -2147483648 to 2147483647", _integer(-(2**31), 2**31 - 1)),
    "bigint": ("a JSON integer from -9223372036854775808 to 9223372036854775807", _integer(-(2**63), 2**63 - 1)),
    "double": ("a JSON number within the range of a double", _double),
    "boolean": ("true or false", _boolean),
    "date": (f"a JSON string {DATE_FORM}", _date),
    "timestamp": (f"a JSON string {TIMESTAMP_FORM}", _timestamp),
}


def _acceptor(column: ColumnSpec) -> tuple[str, Callable[[object], object]]:
    if column.type in _EXPECTED:
        return _EXPECTED[column.type]
    precision, scale = decimal_precision(column.type)
    return f"a JSON number with at most {precision - scale} integer and {scale} fractional digits", _decimal(precision, scale)


class Record(NamedTuple):
    """One record of a line: its exact text and, when well-formed, its values in the schema's order."""

    text: str
    values: list | None = None
    malformed_reason: str | None = None
    unknown_fields: tuple[str, ...] | None = None


def _malformed_line(text: str, reason: str) -> list[Record]:
    return [Record(text, None, reason)]


class RecordParser:
    """Parses lines against a schema's declared columns."""

    def __init__(self, columns: tuple[ColumnSpec, ...]):
        self._width = len(columns)
        # name -> (position, accept, is_string): the hot path's lookups; `_described` words the problems.
        self._by_name = {}
        self._described = []
        for index, column in enumerate(columns):
            expected, accept = _acceptor(column)
            self._by_name[column.name] = (index, accept, column.type == "string")
            self._described.append((column.name, column.type, expected))

    def parse_line(self, data: bytes) -> list[Record]:
        """The records of one line's bytes (its terminator removed), in the order they appear."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as problem:
            # The text cannot be kept as text; its bytes can: base64, as the reason says.
            return _malformed_line(
                base64.b64encode(data).decode("ascii"),
                f"line is not UTF-8 text (invalid byte at offset {problem.start}); the record holds the line's bytes in base64",
            )
        position = _JSON_WHITESPACE.match(text, 1 if text.startswith(_BYTE_ORDER_MARK) else 0).end()
        objects = []
        while position < len(text):
            if text[position] != "{":
                return _malformed_line(text, self._not_an_object(text, position, bool(objects)))
            try:
                value, end = _DECODER.raw_decode(text, position)
            except json.JSONDecodeError as problem:
                return _malformed_line(text, f"malformed JSON at column {problem.pos + 1}: {problem.msg}")
            except _UNREADABLE as problem:
                return _malformed_line(text, f"malformed JSON in the object at column {position + 1}: {_unreadable(problem)}")
            objects.append((text[position:end], value))
            position = _JSON_WHITESPACE.match(text, end).end()
        return [self._typed(object_text, fields) for object_text, fields in objects]

    @staticmethod
    def _not_an_object(text: str, position: int, after_object: bool) -> str:
        where = f"at column {position + 1}"
        try:
            value, _ = _DECODER.raw_decode(text, position)
        except _UNREADABLE:
            found = "text that is not JSON"
        else:
            found = {list: "an array", str: "a string", bool: "true or false", type(None): "null"}.get(type(value), "a number")
        if after_object:
            return f"not JSON records: {found} {where} follows a JSON object on the line"
        return f"not a JSON object: the line holds {found} {where}"

    def _typed(self, text: str, fields: dict) -> Record:
        values, by_name = [None] * self._width, self._by_name
        problems = unknown = None
        for name, value in fields.items():
            declared = by_name.get(name)
            if declared is None:
                unknown = [*(unknown or ()), _printable(name)]
                continue
            if value is None:
                continue
            index, accept, is_string = declared
            # Most values are ASCII strings: accepted as they are, without a call.
            if is_string and type(value) is str and value.isascii():
                values[index] = value
                continue
            try:
                values[index] = accept(value)
            except _WrongValue as problem:
                problems = [*(problems or ()), (index, self._problem(index, value, problem))]
        if problems:
            return Record(text, None, "; ".join(reason for _, reason in sorted(problems)))
        return Record(text, values, None, tuple(sorted(unknown)) if unknown else None)

    def _problem(self, index: int, value: object, problem: _WrongValue) -> str:
        name, type_name, expected = self._described[index]
        why = f" ({problem})" if str(problem) else ""
        return f"field {_quoted(name)} is not a valid {type_name}: {_shown(value)}{why}; expected {expected}"
