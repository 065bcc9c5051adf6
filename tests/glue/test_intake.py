"""The strict intake on its own (no Spark): what a line's bytes become, for every kind of input in the contract table,
and for generated concatenations, whitespace and arbitrary bytes."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gluescripts.etl.intake import RecordParser
from tests.glue.intake_cases import CASES, SCHEMA, Quarantined

PARSER = RecordParser(SCHEMA.columns)


class RawJson(str):
    """A token written into the JSON text as it is (numbers and words json.dumps would not write)."""


def _dumps(value) -> str:
    if isinstance(value, RawJson):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {_dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_dumps(v) for v in value) + "]"
    return json.dumps(value)


def _encoded(value):
    """A value as the intake hands it to Arrow: dates as days and timestamps as microseconds since 1970 (UTC)."""
    if isinstance(value, datetime):
        return (value - datetime(1970, 1, 1)) // timedelta(microseconds=1)
    if isinstance(value, date):
        return (value - date(1970, 1, 1)).days
    return value


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_each_kind_of_line_gives_exactly_its_records(case):
    records = PARSER.parse_line(case.line)
    assert len(records) == len(case.outcomes)
    for record, outcome in zip(records, case.outcomes):
        if isinstance(outcome, Quarantined) and not case.routed:
            assert (record.text, record.malformed_reason, record.values) == (outcome.text, outcome.reasons[0], None)
        elif isinstance(outcome, Quarantined):  # accepted here, quarantined by the routing with this exact text
            assert (record.text, record.malformed_reason) == (outcome.text, None)
        else:
            assert record.malformed_reason is None, record.malformed_reason
            expected = [_encoded(outcome.values.get(name)) for name in SCHEMA.column_names]
            # Floats by their repr, so that -0.0 and 0.0 differ; a decimal -0.00 is 0.00 (Arrow's decimals are integers).
            assert [repr(v) if isinstance(v, float) else v for v in record.values] == [repr(v) if isinstance(v, float) else v for v in expected]
            # The object's exact characters: a line of several objects gives each its own.
            assert record.text in case.line.decode("utf-8") and json.loads(record.text)["id"] == outcome.values["id"]


def test_the_first_instant_spark_holds_is_accepted_and_the_one_before_is_not():
    (first,) = PARSER.parse_line(b'{"id": "first", "at": "0001-01-01T00:00:00Z"}')
    assert first.values[SCHEMA.column_names.index("at")] == _encoded(datetime(1, 1, 1))
    (before,) = PARSER.parse_line(b'{"id": "before", "at": "0001-01-01T00:00:00+00:01"}')
    assert before.malformed_reason.startswith("field 'at' is not a valid timestamp: \"0001-01-01T00:00:00+00:01\" (is outside the years 0001 to 9999 in UTC)")


def test_fields_the_schema_does_not_declare_are_named_sorted():
    (record,) = PARSER.parse_line(b'{"zeta": 1, "id": "a", "alpha": {"nested": true}}')
    assert record.unknown_fields == ("alpha", "zeta")
    (record,) = PARSER.parse_line(b'{"id": "a"}')
    assert record.unknown_fields is None
    # A name no UTF-8 can hold (an unpaired surrogate escape) is reported escaped, and the record is written.
    (record,) = PARSER.parse_line(b'{"id": "a", "\\ud800x": 1, "caf\xc3\xa9": 2}')
    assert (record.malformed_reason, record.unknown_fields) == (None, ("\\ud800x", "caf\u00e9"))


JSON_WHITESPACE = st.text(alphabet=" \t\r\n", max_size=3)
FIELD_VALUES = st.fixed_dictionaries(
    {"id": st.text(max_size=8)},
    optional={
        "n": st.integers(-(2**31), 2**31 - 1),
        "big": st.integers(-(2**63), 2**63 - 1),
        "x": st.floats(allow_nan=False, allow_infinity=False),
        "ok": st.booleans(),
        "day": st.dates().map(lambda d: d.isoformat()),
        "extra": st.lists(st.integers(), max_size=2),
    },
).filter(lambda fields: fields.get("x") != 0.0 or str(fields.get("x")) == "0.0")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(FIELD_VALUES, JSON_WHITESPACE, st.booleans()), min_size=1, max_size=6), JSON_WHITESPACE)
def test_every_object_of_a_line_is_one_record_with_its_own_text(objects, leading):
    texts = [json.dumps(fields, separators=(",", ":") if compact else (", ", ": ")) for fields, _, compact in objects]
    line = leading + "".join(text + gap for text, (_, gap, _) in zip(texts, objects))
    records = PARSER.parse_line(line.encode("utf-8"))
    assert [r.text for r in records] == texts
    assert all(r.malformed_reason is None for r in records)
    assert [r.values[0] for r in records] == [fields["id"] for fields, _, _ in objects]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60) | st.text(max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_no_line_whatever_its_bytes_escapes_the_intake(data):
    records = PARSER.parse_line(data)
    if not records:  # only a line of JSON whitespace (after an optional byte order mark) holds nothing
        assert data.decode("utf-8").lstrip("\ufeff").strip(" \t\r\n") == ""
    for record in records:
        assert (record.values is None) != (record.malformed_reason is None)
        record.text.encode("utf-8")  # always storable text
    if len(records) > 1:
        assert all(r.text in data.decode("utf-8") for r in records)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5)
    | st.sampled_from(["1e99999999999999999999", "-0", "1E+0", "9" * 4301, "NaN", "\ud800", "2026-02-30", "1.0"]).map(RawJson),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(["id", "n", "x", "amount", "day", "at", "extra"]), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["id", "n", "big", "x", "amount", "wide", "ok", "day", "at", "extra"]), JSON_VALUES), min_size=1, max_size=3))
def test_json_shaped_lines_never_escape_the_intake(objects):
    line = "".join(_dumps(fields) for fields in objects)
    records = PARSER.parse_line(line.encode("utf-8", "surrogatepass"))
    assert 1 <= len(records) <= len(objects)
    assert all((r.values is None) != (r.malformed_reason is None) for r in records)


def test_nesting_at_the_edge_of_the_stack_is_quarantined_with_a_reason_that_says_why():
    """Depth by depth across the interpreter's stack limit, a nested value goes from shown (cut short),
    through read but too deep to show, to too deep to read; never a record, never an escaped error."""
    limit = sys.getrecursionlimit()
    reasons = set()
    for depth in range(limit - 200, limit + 50):
        (record,) = PARSER.parse_line(('{"id": ' + "[" * depth + "]" * depth + "}").encode())
        assert record.values is None
        reasons.add(record.malformed_reason)
    assert reasons == {
        "field 'id' is not a valid string: " + "[" * 100 + "...; expected a JSON string",
        "field 'id' is not a valid string: an array or object nested too deeply to show; expected a JSON string",
        "malformed JSON in the object at column 1: nested too deeply to read",
    }
