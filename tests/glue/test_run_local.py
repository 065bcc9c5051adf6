"""`python -m gluescripts.run_local`: the bundled samples end to end, and one-line errors for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from gluescripts import run_local as run_local_module
from tests.glue import intake_cases
from tests.helpers import PROJECT_ROOT


def run_local(*args: str, cwd=PROJECT_ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "SPARK_MASTER": "local[1]", "SPARK_SHUFFLE_PARTITIONS": "2", "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "gluescripts.run_local", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=300
    )


@pytest.fixture(scope="module")
def sample_run(spark, tmp_path_factory):
    """`make run-local`'s run, in this process: the same `run`, sharing the tests' Spark session."""
    output = tmp_path_factory.mktemp("sample-run")
    capture = pytest.MonkeyPatch()
    printed = []
    capture.setattr("builtins.print", lambda *args, **kwargs: printed.append(" ".join(map(str, args))))
    try:
        exit_code = run_local_module.run(["--input", str(PROJECT_ROOT / "samples"), "--output", str(output)])
    finally:
        capture.undo()
    return (exit_code, "\n".join(printed)), output


def test_samples_pass_and_print_a_summary(sample_run):
    (exit_code, printed), _ = sample_run
    assert exit_code == 0
    assert printed.splitlines()[0].startswith("records read 3000: written ")
    *_, verdict, metrics = printed.rstrip().splitlines()
    assert verdict == "PASSED"
    # What the Glue job would publish to CloudWatch for this run.
    published = {m["MetricName"]: m["Value"] for m in json.loads(metrics.removeprefix("metrics: "))}
    assert {k: v for k, v in published.items() if k != "RunDurationSeconds"} == {
        "RecordsRead": 3000, "RecordsWritten": 2882, "RecordsQuarantined": 118, "RecordsMalformed": 38, "RecordsWithUnknownFields": 0,
    }


def test_samples_leave_parquet_quarantine_and_a_reconciled_report(sample_run, spark):
    _, output = sample_run
    report = json.loads((output / "dq_report.json").read_text())
    records = report["records"]
    assert records["read"] == 3000 == records["written"] + records["quarantined"]
    assert 0 < records["malformed"] < records["quarantined"]
    assert report["passed"] is True
    assert spark.read.parquet(str(output / "parquet")).count() == records["written"]
    quarantined = [json.loads(line) for path in (output / "quarantine").glob("*.json") for line in path.read_text().splitlines()]
    assert len(quarantined) == records["quarantined"]
    assert all(set(q) == {"record", "reasons"} and q["reasons"] for q in quarantined)
    assert sorted(p.name.split("=")[0] for p in (output / "parquet").iterdir() if p.is_dir()) == ["complaint_date"] * 3


def test_failing_dataset_rule_exits_1_with_one_line(spark, tmp_path, capsys):
    ruleset = tmp_path / "strict.dqdl"
    ruleset.write_text('Rules = [ RowCount > 100000, IsComplete "airline" ]')
    arguments = ["--input", str(PROJECT_ROOT / "samples"), "--output", str(tmp_path / "out"), "--ruleset", str(ruleset)]
    assert run_local_module.run(arguments) == 1
    assert capsys.readouterr().err.strip() == (
        "error: batch failed: data quality rule failed: RowCount > 100000 (value 2962 does not satisfy '> 100000')"
    )
    assert json.loads((tmp_path / "out" / "dq_report.json").read_text())["passed"] is False
    assert not (tmp_path / "out" / "parquet").exists()


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda tmp: ["--input", str(tmp / "missing"), "--output", str(tmp / "o")], "--input {tmp}/missing: no such directory"),
        (lambda tmp: ["--input", str(tmp / "empty"), "--output", str(tmp / "o")], "--input {tmp}/empty: no JSON-lines files"),
        (
            lambda tmp: ["--input", str(PROJECT_ROOT / "samples"), "--output", str(tmp / "o"), "--ruleset", str(tmp / "nope.dqdl")],
            "--ruleset {tmp}/nope.dqdl: cannot read it (FileNotFoundError",
        ),
        (
            lambda tmp: ["--input", str(PROJECT_ROOT / "samples"), "--output", str(tmp / "o"), "--ruleset", str(tmp / "mean.dqdl")],
            "--ruleset {tmp}/mean.dqdl: unknown rule type 'Bogus' in 'Bogus \"rating\" > 3'",
        ),
    ],
)
def test_bad_arguments_are_one_line_errors(tmp_path, make_args, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "nothing.jsonl").write_text("")
    (tmp_path / "mean.dqdl").write_text('Rules = [ Bogus "rating" > 3 ]')
    result = run_local(*make_args(tmp_path))
    assert result.returncode == 2
    assert result.stderr.startswith("error: " + message.format(tmp=tmp_path))
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_table_of_your_own_without_a_date_column(spark, tmp_path, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "part-1.jsonl").write_text(
        '{"sku": "A-1", "qty": 3, "colour": "red"}\n{"sku": "A-2", "qty": -1}\n{"sku": null, "qty": 2}\n{"sku": "A-4", "qty": "two"}\n'
    )
    (tmp_path / "schema.json").write_text('{"columns": [{"name": "sku", "type": "string"}, {"name": "qty", "type": "int"}]}')
    (tmp_path / "rules.dqdl").write_text(
        'Rules = [ IsComplete sku, ColumnValues "qty" >= 0, RowCount > avg(last(3)), Mean "qty" > 1 ]'
    )
    arguments = ["--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"), "--schema", str(tmp_path / "schema.json"),
                 "--ruleset", str(tmp_path / "rules.dqdl"), "--max-quarantine-fraction", "0.8"]
    assert run_local_module.run(arguments) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0] == "records read 4: written 1, quarantined 3 (malformed 1, with unknown fields 1)"
    assert "fields not in the schema (not written): colour" in printed
    assert "not evaluated locally" in printed and "RowCount > avg(last(3))" in printed
    report = json.loads((tmp_path / "out" / "dq_report.json").read_text())
    assert [r["outcome"] for r in report["rules"]] == ["Failed", "Failed", "NotEvaluatedLocally", "NotEvaluatedLocally"]
    assert report["unknown_fields"] == ["colour"]
    assert [p.suffix for p in (tmp_path / "out" / "parquet").iterdir() if not p.name.startswith((".", "_"))] == [".parquet"]
    assert spark.read.parquet(str(tmp_path / "out" / "parquet")).collect()[0].asDict() == {"sku": "A-1", "qty": 3}


def test_every_kind_of_input_end_to_end_is_written_exactly_as_sent_or_quarantined_with_its_text(spark, tmp_path, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "mixed.jsonl").write_bytes(b"\n".join(intake_cases.LINES) + b"\n")
    (tmp_path / "schema.json").write_text(json.dumps(intake_cases.SCHEMA_DOCUMENT))
    (tmp_path / "rules.dqdl").write_text(intake_cases.RULESET)
    output = tmp_path / "out"
    arguments = ["--input", str(tmp_path / "in"), "--output", str(output), "--schema", str(tmp_path / "schema.json"),
                 "--ruleset", str(tmp_path / "rules.dqdl"), "--max-quarantine-fraction", "1"]
    assert run_local_module.run(arguments) == 0
    # Read back from the files written: Parquet (ancient dates included) and the quarantine's JSON lines.
    intake_cases.assert_written_exactly([row.asDict() for row in spark.read.parquet(str(output / "parquet")).collect()])
    quarantined = [json.loads(line) for path in (output / "quarantine").glob("*.json") for line in path.read_text().splitlines()]
    today = datetime.now(timezone.utc).date().isoformat()
    intake_cases.assert_quarantined_exactly(
        [intake_cases.quarantine_key(q["record"], q["reasons"]) for q in quarantined], window=f"2000-01-01 to {today}"
    )
    records = json.loads((output / "dq_report.json").read_text())["records"]
    assert records["read"] == records["written"] + records["quarantined"] == len(intake_cases.WRITTEN) + len(intake_cases.QUARANTINED)


def test_a_run_never_leaves_an_earlier_runs_results_in_its_output(spark, tmp_path, capsys):
    output = tmp_path / "out"
    passing = ["--input", str(PROJECT_ROOT / "samples"), "--output", str(output)]
    assert run_local_module.run(passing) == 0
    (output / "notes.txt").write_text("mine")
    ruleset = tmp_path / "strict.dqdl"
    ruleset.write_text("Rules = [ RowCount > 100000 ]")
    assert run_local_module.run(passing + ["--ruleset", str(ruleset)]) == 1
    # The failed batch wrote nothing, and nothing of the passed one is left to be mistaken for it.
    assert sorted(p.name for p in output.iterdir()) == ["dq_report.json", "notes.txt"]
    assert json.loads((output / "dq_report.json").read_text())["passed"] is False
