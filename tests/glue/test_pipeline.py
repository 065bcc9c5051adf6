"""A whole batch: the quarantine split, the reconciliation invariant, and when nothing may be written."""

from __future__ import annotations

import json
import random
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import functions as F

from gluescripts.etl.bundled import RULESET_FILE, SCHEMA_FILE, bundled_text
from gluescripts.etl.dqdl import parse_ruleset
from gluescripts.etl.evaluate import evaluate_locally
from gluescripts.etl.pipeline import ReconciliationError, process_batch
from gluescripts.etl.quality import ERROR, FAILED, RULES_FAIL, QualityResults, RuleOutcome, batch_failures
from gluescripts.etl.schema import lines_with_source, load_schema, source_key
from tests.glue import intake_cases
from tests.glue.conftest import MemorySink, lines_frame
from tools.synthetic_complaints import BAD_KINDS, bad_line, good_record

SCHEMA = load_schema(bundled_text(SCHEMA_FILE))
# The bundled row-level rules: ratio rules such as Completeness would fail tiny generated batches.
RULES = "Rules = [ " + ", ".join(r.text for r in parse_ruleset(bundled_text(RULESET_FILE)) if r.is_row_level) + " ]"
START = datetime(2026, 11, 1, tzinfo=timezone.utc)
MALFORMED_KINDS = {"truncated_json", "not_an_object", "wrong_type"}


def batch(spark, lines, rules=RULES, max_fraction=1.0, sink=None, evaluate=evaluate_locally, schema=SCHEMA):
    sink = sink or MemorySink()
    return process_batch(lines_frame(spark, lines), schema, rules, evaluate, max_fraction, sink), sink


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


def joined(records: list[str], kinds: list[str], gaps: list[str]) -> list[str]:
    """Records that are JSON objects share lines, as Firehose writes them, separated by `gaps`; a malformed one keeps its own line."""
    lines, gaps = [], iter(gaps)
    for record, kind in zip(records, kinds):
        gap = next(gaps, "\n")
        if lines and kind not in MALFORMED_KINDS and gap != "\n" and lines[-1][1]:
            lines[-1] = (lines[-1][0] + gap + record, True)
        else:
            lines.append((record, kind not in MALFORMED_KINDS))
    return [line for line, _ in lines]


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kinds=st.lists(st.sampled_from(("good",) * 4 + BAD_KINDS), min_size=1, max_size=40),
    gaps=st.lists(st.sampled_from(["\n", "", " ", "\t", " \r "]), max_size=40),
    blank_lines=st.integers(min_value=0, max_value=3),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_every_record_is_written_or_quarantined_exactly_once(spark, kinds, gaps, blank_lines, seed):
    records = make_lines(kinds, seed)
    lines = joined(records, kinds, gaps) + [""] * blank_lines
    report, sink = batch(spark, lines)
    assert report.passed
    assert report.read == len(kinds)
    assert report.read == report.written + report.quarantined
    assert (len(sink.output), len(sink.quarantine)) == (report.written, report.quarantined)
    assert report.malformed == sum(kind in MALFORMED_KINDS for kind in kinds)
    # Each quarantined record is the exact text that arrived: its line, or its object of a shared line.
    quarantined_texts = [q["record"] for q in sink.quarantine]
    assert all(text in records for text in quarantined_texts)
    assert {record for record, kind in zip(records, kinds) if kind in MALFORMED_KINDS} <= set(quarantined_texts)
    parsed_ids = {json.loads(record)["complaint_id"] for record, kind in zip(records, kinds) if kind not in MALFORMED_KINDS}
    assert {row["complaint_id"] for row in sink.output} <= parsed_ids
    written_ids = [row["complaint_id"] for row in sink.output]
    assert len(written_ids) == len(set(written_ids)), "a duplicated key must never reach the output"
    assert all(quarantined["reasons"] for quarantined in sink.quarantine)


# A quarantined row names its rules as the engine prints them (AWS's DQDL parser), as Glue lists them.
AIRLINE_RULE_AS_PRINTED = 'ColumnValues "airline" in ["AA","AF","BA","DL","EK","IB","KL","LH","LX","UA"]'


def test_rule_breaking_rows_are_quarantined_with_the_rules_they_failed(spark):
    lines = make_lines(["good", "good", "negative_delay", "unknown_airline", "truncated_json"], seed=1)
    report, sink = batch(spark, lines)
    reasons = {json.loads(r["record"])["airline"] if r["record"].endswith("}") else "broken": r["reasons"] for r in sink.quarantine}
    assert reasons["ZZ"] == [AIRLINE_RULE_AS_PRINTED]
    assert len(reasons["broken"]) == 1 and reasons["broken"][0].startswith("malformed JSON at column ")
    assert any(r["reasons"] == ['ColumnValues "delay_minutes" >= 0'] for r in sink.quarantine)
    # Every quarantined record is the exact text that arrived, so a replay reproduces the input.
    assert sorted(r["record"] for r in sink.quarantine) == sorted(lines[2:])
    assert (report.read, report.written, report.quarantined, report.malformed) == (5, 2, 3, 1)


def test_quarantine_is_staged_before_the_output_and_both_published_after_the_counts_reconcile(spark):
    report, sink = batch(spark, make_lines(["good", "unknown_airline", "good"], seed=2))
    assert sink.events == ["committed_sources", "quarantine", "output", "publish"]
    # Each row carries the object it came from (an in-memory frame has none: the empty name).
    assert {row["source_object"] for row in sink.output + sink.quarantine} == {""}


def test_clean_batch_writes_no_quarantine(spark):
    report, sink = batch(spark, make_lines(["good"] * 5, seed=3))
    assert (report.quarantined, sink.events) == (0, ["committed_sources", "output", "publish"])


def test_failed_dataset_rule_fails_the_batch_and_writes_nothing(spark):
    rules = "Rules = [ RowCount > 10, IsComplete \"airline\" ]"
    report, sink = batch(spark, make_lines(["good"] * 3, seed=4), rules=rules)
    assert not report.passed
    assert report.failures == ("data quality rule failed: RowCount > 10 (Value: 3 does not meet the constraint requirement!)",)
    assert sink.events == []
    assert (report.read, report.written, report.quarantined) == (3, 0, 0)


def test_quarantined_share_above_the_limit_fails_the_batch(spark):
    report, sink = batch(spark, make_lines(["good", "truncated_json", "unknown_airline", "good"], seed=5), max_fraction=0.25)
    assert report.failures == ("quarantined 2 of 4 records (50.0%), above the limit of 25.0%",)
    assert sink.events == []
    # Nothing written, but the report (and the run's metrics) carry the share that failed the batch.
    assert (report.read, report.written, report.quarantined) == (4, 0, 2)


def test_quarantined_share_at_the_limit_passes(spark):
    report, _ = batch(spark, make_lines(["good", "truncated_json", "good", "good"], seed=6), max_fraction=0.25)
    assert report.passed and report.quarantined == 1


def test_report_has_the_documented_shape(spark):
    report, _ = batch(spark, make_lines(["good", "wrong_type"], seed=7))
    document = report.as_dict()
    assert document["records"] == {"read": 2, "written": 1, "quarantined": 1, "malformed": 1, "with_unknown_fields": 0, "already_committed": 0}
    assert document["passed"] is True and document["unknown_fields"] == []
    assert {"rule", "outcome", "level", "evaluated_metrics"} <= set(document["rules"][0])
    assert {r["outcome"] for r in document["rules"]} <= {"Passed", "Failed"}


def _without_ratio_rules_in_row_results(records, ruleset):
    """Glue read the other way: ratio rules never listed in a row's DataQualityRulesFail."""
    results = evaluate_locally(records, ruleset)
    rows = results.row_outcomes.withColumn(
        RULES_FAIL, F.filter(RULES_FAIL, lambda rule: ~rule.startswith("Completeness") & ~rule.startswith("Uniqueness"))
    )
    return QualityResults(results.rule_outcomes, rows)


def test_routing_is_the_same_whether_or_not_glue_lists_ratio_rules_per_row(spark):
    lines = make_lines(["good"] * 6 + ["unknown_airline"], seed=8)
    record = json.loads(lines[0])
    record["description"] = None  # fails Completeness row by row, passes it as a batch
    lines[0] = json.dumps(record)
    rules = 'Rules = [ Completeness "description" >= 0.5, Uniqueness "complaint_id" > 0.5, IsComplete "airline", ColumnValues "airline" in ["AA", "AF", "BA", "DL", "EK", "IB", "KL", "LH", "LX", "UA"] ]'
    listed, listed_sink = batch(spark, lines, rules=rules)
    unlisted, unlisted_sink = batch(spark, lines, rules=rules, evaluate=_without_ratio_rules_in_row_results)
    assert (listed.written, listed.quarantined) == (unlisted.written, unlisted.quarantined) == (6, 1)
    assert listed_sink.quarantine == unlisted_sink.quarantine
    assert [q["reasons"] for q in listed_sink.quarantine] == [[AIRLINE_RULE_AS_PRINTED]]


def test_a_rule_glue_could_not_evaluate_fails_the_batch(spark):
    def erring(records, ruleset):
        results = evaluate_locally(records, ruleset)
        outcomes = (RuleOutcome("CustomSql \"select 1\" > 0", "Error", "SQL failed"),) + results.rule_outcomes
        return QualityResults(outcomes, results.row_outcomes)

    report, sink = batch(spark, make_lines(["good"] * 2, seed=9), evaluate=erring)
    assert report.failures == ('data quality rule could not be evaluated: CustomSql "select 1" > 0 (SQL failed)',)
    assert sink.events == []



def test_a_failed_batch_rule_glue_gives_no_reason_for_is_named_alone():
    """ruleOutcomes' FailureReason may be empty; the operator's message then ends with the rule."""
    outcomes = (RuleOutcome("RowCount > 10", FAILED), RuleOutcome('CustomSql "select 1" > 0', ERROR))
    assert batch_failures(outcomes) == (
        "data quality rule failed: RowCount > 10",
        'data quality rule could not be evaluated: CustomSql "select 1" > 0',
    )

def test_rules_not_evaluated_locally_are_reported_and_do_not_fail_the_run(spark):
    report, _ = batch(spark, make_lines(["good"] * 2, seed=10), rules='Rules = [ RowCount > avg(last(3)), IsComplete "airline" ]')
    assert report.passed
    assert [(r.rule, r.outcome) for r in report.rules] == [("RowCount > avg(last(3))", "NotEvaluatedLocally"), ('IsComplete "airline"', "Passed")]


def test_fields_the_schema_does_not_declare_are_counted_named_and_not_written(spark):
    lines = make_lines(["good"] * 3, seed=11)
    drifted = [json.loads(line) for line in lines]
    drifted[0]["loyalty_tier"] = "gold"
    drifted[1]["loyalty_tier"], drifted[1]["seat"] = "silver", "12A"
    report, sink = batch(spark, [json.dumps(r) for r in drifted])
    assert (report.with_unknown_fields, report.unknown_fields) == (2, ("loyalty_tier", "seat"))
    assert report.as_dict()["unknown_fields"] == ["loyalty_tier", "seat"]
    assert all("loyalty_tier" not in row for row in sink.output) and len(sink.output) == 3


def test_a_table_without_a_partition_column_is_written_unpartitioned(spark):
    schema = load_schema('{"columns": [{"name": "id", "type": "int"}, {"name": "name", "type": "string"}]}')
    report, sink = batch(spark, ['{"id": 1, "name": "a"}', '{"id": 2}', "oops"], rules='Rules = [ IsComplete "name" ]', schema=schema)
    assert (report.written, report.quarantined) == (1, 2)
    assert sink.output == [{"id": 1, "name": "a", "source_object": "", "source_modified_at": None}]


class _LosingSink(MemorySink):
    def write_output(self, records):
        super().write_output(records.limit(1))


def test_rows_lost_on_the_way_to_the_sink_stop_the_batch_before_it_is_published(spark):
    sink = _LosingSink()
    with pytest.raises(ReconciliationError, match=r"^records do not reconcile: read 3 != written 1 \+ quarantined 0 \+ already committed 0"):
        batch(spark, make_lines(["good"] * 3, seed=12), sink=sink)
    assert "publish" not in sink.events


def _dropping_a_row(records, ruleset):
    results = evaluate_locally(records, ruleset)
    return QualityResults(results.rule_outcomes, results.row_outcomes.limit(2))


def test_row_results_that_miss_a_record_stop_the_batch_before_anything_is_written(spark):
    sink = MemorySink()
    with pytest.raises(ReconciliationError, match=r"^the data quality row results hold 2 rows for 3 well-formed records$"):
        batch(spark, make_lines(["good"] * 3, seed=13), sink=sink, evaluate=_dropping_a_row)
    assert sink.events == []


def _changing_flagged_values(records, ruleset):
    """Row results whose values are not the ones the job read (a platform that re-types a column)."""
    results = evaluate_locally(records, ruleset)
    return QualityResults(results.rule_outcomes, results.row_outcomes.withColumn("delay_minutes", F.col("delay_minutes") - 1))


def test_row_results_with_other_values_than_the_job_read_stop_the_batch(spark):
    sink = MemorySink()
    # A flagged row whose values match no record would otherwise let that record through as passing.
    with pytest.raises(ReconciliationError, match=r"^1 rows failed a row rule, but 0 records have their values"):
        batch(spark, make_lines(["good", "good", "negative_delay"], seed=14), sink=sink, evaluate=_changing_flagged_values)
    assert sink.events == []


def test_every_kind_of_input_is_written_exactly_as_sent_or_quarantined_with_its_text(spark):
    frame = lines_frame(spark, intake_cases.LINES, "binary")
    sink = MemorySink()
    report = process_batch(frame, intake_cases.SCHEMA, intake_cases.RULESET, evaluate_locally, 1.0, sink)
    assert report.passed, report.failures
    intake_cases.assert_written_exactly([{k: v for k, v in row.items() if k not in ("source_object", "source_modified_at")} for row in sink.output])
    intake_cases.assert_quarantined_exactly([intake_cases.quarantine_key(q["record"], q["reasons"]) for q in sink.quarantine])
    malformed = sum(isinstance(o, intake_cases.Quarantined) for c in intake_cases.CASES if not c.routed for o in c.outcomes)
    assert (report.read, report.written, report.quarantined, report.malformed) == (
        len(intake_cases.WRITTEN) + len(intake_cases.QUARANTINED), len(intake_cases.WRITTEN), len(intake_cases.QUARANTINED), malformed,
    )
    assert report.unknown_fields == ("colour",) and report.with_unknown_fields == 2




def test_a_retry_leaves_out_what_is_committed_and_routes_again_what_may_be_cut_off(spark, tmp_path):
    """After a crash between the two publishes: the quarantine holds a.json's bad record, the output not yet its good ones."""
    records = make_lines(["good", "unknown_airline", "good", "good", "truncated_json"], seed=30)
    (tmp_path / "a.json").write_text("\n".join(records[:3]) + "\n")
    (tmp_path / "b.json").write_text("\n".join(records[3:]) + "\n")
    lines = lines_with_source(spark.read.text(str(tmp_path)))
    a, b = (f"file:{tmp_path / name}" for name in ("a.json", "b.json"))
    key = {row.source_object: row.key for row in lines.select("source_object", source_key().alias("key")).distinct().collect()}
    sink = MemorySink(held=(set(), {key[a]}))
    report = process_batch(lines, SCHEMA, RULES, evaluate_locally, 1.0, sink)
    # a.json may have been cut off between the two commits: routed again, its quarantine rows replaced.
    assert (report.read, report.written, report.quarantined, report.already_committed) == (5, 3, 2, 0)
    assert sorted(row["source_object"] for row in sink.output) == [a, a, b]
    assert sorted(row["source_object"] for row in sink.quarantine) == [a, b] and sink.replaced == [key[a]]
    # An object committed whole is left out.
    whole = MemorySink(held=({key[a]}, set()))
    report = process_batch(lines, SCHEMA, RULES, evaluate_locally, 1.0, whole)
    assert (report.written, report.quarantined, report.already_committed) == (1, 1, 3)
    assert [row["source_object"] for row in whole.quarantine] == [b] and whole.replaced == []
    # Both tables hold everything: nothing is staged, nothing published.
    done = MemorySink(held=({key[a], key[b]}, set()))
    report = process_batch(lines, SCHEMA, RULES, evaluate_locally, 1.0, done)
    assert (report.written, report.quarantined, report.already_committed) == (0, 0, 5)
    assert done.events == ["committed_sources", "publish"]
