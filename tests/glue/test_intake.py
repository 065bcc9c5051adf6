"""The strict intake on its own (no Spark): what a line's bytes become, for every kind of input in the contract table,
and for generated concatenations, whitespace and arbitrary bytes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gluescripts.etl.intake import RecordParser
from tests.glue.intake_cases import CASES, SCHEMA, Quarantined

PARSER = RecordParser(SCHEMA.columns)


def _object_text(outcome) -> str | None:
    return outcome.text if isinstance(outcome, Quarantined) else None


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_each_kind_of_line_gives_exactly_its_records(case):
    records = PARSER.parse_line(case.line)
    assert len(records) == len(case.outcomes)
    for record, outcome in zip(records, case.outcomes):
        if isinstance(outcome, Quarantined) and not case.routed:
            assert (record.text, record.malformed_reason) == (outcome.text, outcome.reasons[0])
            assert record.values is None
        else:
            assert record.malformed_reason is None, record.malformed_reason
            assert len(record.values) == len(SCHEMA.columns)
            # The object's exact characters: a line of several objects gives each its own.
            assert record.text in case.line.decode("utf-8")
            assert json.loads(record.text).get("id") == (outcome.values["id"] if not isinstance(outcome, Quarantined) else json.loads(outcome.text).get("id"))


def test_fields_the_schema_does_not_declare_are_named_sorted():
    (record,) = PARSER.parse_line(b'{"zeta": 1, "id": "a", "alpha": {"nested": true}}')
    assert record.unknown_fields == ("alpha", "zeta")
    (record,) = PARSER.parse_line(b'{"id": "a"}')
    assert record.unknown_fields is None


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
