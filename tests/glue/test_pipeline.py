"""A whole batch: the quarantine split, the reconciliation invariant, and when nothing may be written."""

from __future__ import annotations

import json
import random
from datetime import datetime, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gluescripts.etl.bundled import RULESET_FILE, SCHEMA_FILE, bundled_text
from gluescripts.etl.dqdl import parse_ruleset
from gluescripts.etl.pipeline import process_batch
from gluescripts.etl.schema import load_schema
from tests.glue.conftest import MemorySink
from tools.synthetic_complaints import BAD_KINDS, bad_line, good_record

SCHEMA = load_schema(bundled_text(SCHEMA_FILE))
# The bundled row-level rules: ratio rules such as Completeness would fail tiny generated batches.
RULES = tuple(rule for rule in parse_ruleset(bundled_text(RULESET_FILE)) if rule.is_row_level)
START = datetime(2026, 11, 1, tzinfo=timezone.utc)
MALFORMED_KINDS = {"truncated_json", "not_an_object", "wrong_type"}


def batch(spark, lines, rules=RULES, max_fraction=1.0, sink=None):
    sink = sink or MemorySink()
    frame = spark.createDataFrame([(line,) for line in lines], "value string")
    return process_batch(frame, SCHEMA, rules, max_fraction, sink), sink


def make_lines(kinds: list[str], seed: int) -> list[str]:
    rng = random.Random(seed)
    lines, good_ids = [], []
    for index, kind in enumerate(kinds):
        record = good_record(rng, index, START)
        if kind == "good":
            good_ids.append(record["complaint_id"])
            lines.append(json.dumps(record))
        else:
            lines.append(bad_line(rng, kind, record, good_ids))
    return lines


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kinds=st.lists(st.sampled_from(("good",) * 4 + BAD_KINDS), min_size=1, max_size=40),
    blank_lines=st.integers(min_value=0, max_value=3),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_every_record_is_written_or_quarantined_exactly_once(spark, kinds, blank_lines, seed):
    lines = make_lines(kinds, seed) + [""] * blank_lines
    report, sink = batch(spark, lines)
    assert report.passed
    assert report.read == len(kinds)
    assert report.read == report.written + report.quarantined
    assert (len(sink.output), len(sink.quarantine)) == (report.written, report.quarantined)
    assert report.malformed == sum(kind in MALFORMED_KINDS for kind in kinds)
    parsed_ids = {json.loads(line)["complaint_id"] for line, kind in zip(lines, kinds) if kind not in MALFORMED_KINDS}
    for quarantined in sink.quarantine:  # malformed lines verbatim, rule breakers as the job typed them
        assert quarantined["record"] in lines or json.loads(quarantined["record"])["complaint_id"] in parsed_ids
    assert {row["complaint_id"] for row in sink.output} <= parsed_ids
    written_ids = [row["complaint_id"] for row in sink.output]
    assert len(written_ids) == len(set(written_ids)), "a duplicated key must never reach the output"
    assert all(quarantined["reasons"] for quarantined in sink.quarantine)


def test_rule_breaking_rows_are_quarantined_with_the_rules_they_failed(spark):
    lines = make_lines(["good", "good", "negative_delay", "unknown_airline", "truncated_json"], seed=1)
    report, sink = batch(spark, lines)
    reasons = {json.loads(r["record"])["airline"] if r["record"].endswith("}") else "broken": r["reasons"] for r in sink.quarantine}
    assert reasons["ZZ"] == ['ColumnValues "airline" in ["AA", "AF", "BA", "DL", "EK", "IB", "KL", "LH", "LX", "UA"]']
    assert reasons["broken"] == ["malformed JSON: not a parseable JSON object"]
    assert any(r["reasons"] == ['ColumnValues "delay_minutes" >= 0'] for r in sink.quarantine)
    assert (report.read, report.written, report.quarantined, report.malformed) == (5, 2, 3, 1)


def test_quarantine_is_written_before_the_output_and_output_is_partitioned_by_date(spark):
    report, sink = batch(spark, make_lines(["good", "unknown_airline", "good"], seed=2))
    assert sink.events == ["quarantine", "output"]
    assert sink.partition_column == "complaint_date"
    assert all(row["complaint_date"] == row["filed_at"].date() for row in sink.output)


def test_clean_batch_writes_no_quarantine(spark):
    report, sink = batch(spark, make_lines(["good"] * 5, seed=3))
    assert (report.quarantined, sink.events) == (0, ["output"])


def test_failed_dataset_rule_fails_the_batch_and_writes_nothing(spark):
    rules = parse_ruleset("Rules = [ RowCount > 10, IsComplete \"airline\" ]")
    report, sink = batch(spark, make_lines(["good"] * 3, seed=4), rules=rules)
    assert not report.passed
    assert report.failures == ("data quality rule failed: RowCount > 10 (value 3 does not satisfy '> 10')",)
    assert sink.events == []
    assert (report.read, report.written, report.quarantined) == (3, 0, 0)


def test_quarantined_share_above_the_limit_fails_the_batch(spark):
    report, sink = batch(spark, make_lines(["good", "truncated_json", "unknown_airline", "good"], seed=5), max_fraction=0.25)
    assert report.failures == ("quarantined 2 of 4 records (50.0%), above the limit of 25.0%",)
    assert sink.events == []


def test_quarantined_share_at_the_limit_passes(spark):
    report, _ = batch(spark, make_lines(["good", "truncated_json", "good", "good"], seed=6), max_fraction=0.25)
    assert report.passed and report.quarantined == 1


def test_report_has_the_documented_shape(spark):
    report, _ = batch(spark, make_lines(["good", "wrong_type"], seed=7))
    document = report.as_dict()
    assert document["records"] == {"read": 2, "written": 1, "quarantined": 1, "malformed": 1}
    assert document["passed"] is True
    assert {"rule", "outcome", "level"} <= set(document["rules"][0])
    assert {r["outcome"] for r in document["rules"]} <= {"Passed", "Failed"}
