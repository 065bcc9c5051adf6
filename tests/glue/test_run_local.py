"""`python -m gluescripts.run_local`: the bundled samples end to end into Iceberg tables, exactly once
across reruns, read back by Spark and by pyiceberg; and one-line errors for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from pyiceberg.table import StaticTable

from gluescripts import run_local as run_local_module
from tests.glue import intake_cases
from tests.helpers import PROJECT_ROOT


def table(spark, output, name: str):
    """A table of run_local's warehouse, read through Iceberg by its folder."""
    return spark.read.format("iceberg").load(str(run_local_module.table_path(output, f"pipeline.{name}")))


def pyiceberg_rows(output, name: str) -> list[dict]:
    """The same table read by pyiceberg, which is not Spark: from its newest metadata file."""
    metadata = sorted((run_local_module.table_path(output, f"pipeline.{name}") / "metadata").glob("v*.metadata.json"),
                      key=lambda path: int(path.name[1:].split(".")[0]))[-1]
    return StaticTable.from_metadata(str(metadata)).scan().to_arrow().to_pylist()


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
        "RecordsAlreadyCommitted": 0,
    }


def test_samples_leave_two_iceberg_tables_and_a_reconciled_report(sample_run, spark):
    _, output = sample_run
    report = json.loads((output / "dq_report.json").read_text())
    records = report["records"]
    assert records["read"] == 3000 == records["written"] + records["quarantined"]
    assert 0 < records["malformed"] < records["quarantined"]
    assert report["passed"] is True
    curated, quarantine = table(spark, output, "curated"), table(spark, output, "quarantine")
    assert curated.count() == records["written"] and quarantine.count() == records["quarantined"]
    quarantined = [row.asDict() for row in quarantine.collect()]
    assert all(q["reasons"] and q["source_object"].startswith("file:") and q["job_run_id"].startswith("local-") for q in quarantined)
    # Hidden partitioning by day of filed_at, under schema.json's partition name.
    spec = spark.read.format("iceberg").load(str(run_local_module.table_path(output, "pipeline.curated")) + "#partitions").schema
    assert spec["partition"].dataType.fieldNames() == ["complaint_date"]
    # One atomic commit per table: one snapshot each, published from its write-audit-publish stage.
    snapshots = spark.read.format("iceberg").load(str(run_local_module.table_path(output, "pipeline.curated")) + "#snapshots").collect()
    assert len(snapshots) == 1 and snapshots[0].summary["wap.id"].endswith("-curated")


def test_a_second_engine_reads_the_same_rows(sample_run, spark):
    _, output = sample_run
    rows = pyiceberg_rows(output, "curated")
    assert len(rows) == 2882
    assert sorted(r["complaint_id"] for r in rows) == sorted(r.complaint_id for r in table(spark, output, "curated").collect())
    assert len(pyiceberg_rows(output, "quarantine")) == 118


def test_failing_dataset_rule_exits_1_with_one_line(spark, tmp_path, capsys):
    ruleset = tmp_path / "strict.dqdl"
    ruleset.write_text('Rules = [ RowCount > 100000, IsComplete "airline" ]')
    arguments = ["--input", str(PROJECT_ROOT / "samples"), "--output", str(tmp_path / "out"), "--ruleset", str(ruleset)]
    assert run_local_module.run(arguments) == 1
    assert capsys.readouterr().err.strip() == (
        "error: batch failed: data quality rule failed: RowCount > 100000 (Value: 2962 does not meet the constraint requirement!)"
    )
    assert json.loads((tmp_path / "out" / "dq_report.json").read_text())["passed"] is False
    # The tables exist (the run creates them first) and hold nothing.
    assert table(spark, tmp_path / "out", "curated").count() == table(spark, tmp_path / "out", "quarantine").count() == 0


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
        (
            lambda tmp: ["--input", str(PROJECT_ROOT / "samples"), "--output", str(tmp / "o"), "--reference", "airlines"],
            "--reference airlines: expected ALIAS=PATH, ALIAS a name such as reference",
        ),
        (
            lambda tmp: ["--input", str(PROJECT_ROOT / "samples"), "--output", str(tmp / "o"), "--reference", f"primary={tmp}"],
            "--reference primary={tmp}: the alias primary is the batch itself",
        ),
        (
            lambda tmp: ["--input", str(PROJECT_ROOT / "samples"), "--output", str(tmp / "o"), "--reference", f"airlines={tmp}/nope"],
            "--reference airlines={tmp}/nope: no such file or directory",
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


def test_rules_the_old_evaluator_left_to_glue_are_evaluated_decided_and_reported(spark, tmp_path, capsys):
    """Mean, CustomSql, DataFreshness and a rule over another data set (`--reference`), through
    AWS's DQDL engine: each has an outcome and a metric, and a failed one fails the run."""
    (tmp_path / "in").mkdir()
    now = datetime.now(timezone.utc)
    recent, old = (now - timedelta(minutes=30)).isoformat(), (now - timedelta(days=2)).isoformat()
    (tmp_path / "in" / "orders.jsonl").write_text(
        f'{{"sku": "A-1", "qty": 3, "at": "{recent}"}}\n{{"sku": "A-2", "qty": 1, "at": "{recent}"}}\n'
        f'{{"sku": "B-9", "qty": 2, "at": "{old}"}}\n'
    )
    (tmp_path / "catalogue.jsonl").write_text('{"sku": "A-1"}\n{"sku": "A-2"}\n')
    (tmp_path / "schema.json").write_text(
        '{"columns": [{"name": "sku", "type": "string"}, {"name": "qty", "type": "int"}, {"name": "at", "type": "timestamp"}]}'
    )
    rules = (
        'Mean "qty" = 2.0', 'CustomSql "select sum(qty) from primary" = 6', 'DataFreshness "at" <= 1 hours',
        'ReferentialIntegrity "sku" "catalogue.sku" >= 0.6',
    )
    (tmp_path / "rules.dqdl").write_text("Rules = [ " + ", ".join(rules) + " ]")
    arguments = ["--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"), "--schema", str(tmp_path / "schema.json"),
                 "--ruleset", str(tmp_path / "rules.dqdl"), "--reference", f"catalogue={tmp_path / 'catalogue.jsonl'}"]
    assert run_local_module.run(arguments) == 1
    report = json.loads((tmp_path / "out" / "dq_report.json").read_text())
    assert [(r["rule"], r["outcome"], next(iter(r["evaluated_metrics"].values()))) for r in report["rules"]] == [
        ('Mean "qty" = 2.0', "Passed", 2.0),
        ('CustomSql "select sum(qty) from primary" = 6', "Passed", 6.0),
        ('DataFreshness "at" <= 1 hours', "Failed", 2 / 3),  # B-9 arrived two days ago
        ('ReferentialIntegrity "sku" "catalogue.sku" >= 0.6', "Passed", 2 / 3),  # B-9 is not in the catalogue
    ]
    assert capsys.readouterr().err.strip().startswith('error: batch failed: data quality rule failed: DataFreshness "at" <= 1 hours')
    assert table(spark, tmp_path / "out", "curated").count() == 0


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
    assert printed.splitlines()[0] == (
        "records read 4: written 1, quarantined 3 (malformed 1, with unknown fields 1); already committed by an earlier run 0"
    )
    assert "fields not in the schema (not written): colour" in printed
    assert "not evaluated locally" in printed and "RowCount > avg(last(3))" in printed
    report = json.loads((tmp_path / "out" / "dq_report.json").read_text())
    assert [r["outcome"] for r in report["rules"]] == ["Failed", "Failed", "NotEvaluatedLocally", "Passed"]
    assert report["unknown_fields"] == ["colour"]
    (row,) = table(spark, tmp_path / "out", "curated").select("sku", "qty").collect()
    assert row.asDict() == {"sku": "A-1", "qty": 3}
    spec = spark.read.format("iceberg").load(str(run_local_module.table_path(tmp_path / "out", "pipeline.curated")) + "#partitions")
    assert "partition" not in spec.columns  # no date column: unpartitioned


def test_every_kind_of_input_end_to_end_is_written_exactly_as_sent_or_quarantined_with_its_text(spark, tmp_path, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "mixed.jsonl").write_bytes(b"\n".join(intake_cases.LINES) + b"\n")
    (tmp_path / "schema.json").write_text(json.dumps(intake_cases.SCHEMA_DOCUMENT))
    (tmp_path / "rules.dqdl").write_text(intake_cases.RULESET)
    output = tmp_path / "out"
    arguments = ["--input", str(tmp_path / "in"), "--output", str(output), "--schema", str(tmp_path / "schema.json"),
                 "--ruleset", str(tmp_path / "rules.dqdl"), "--max-quarantine-fraction", "1"]
    assert run_local_module.run(arguments) == 0
    # Read back from the tables written, through Iceberg (ancient and far dates included).
    columns = intake_cases.SCHEMA.column_names
    intake_cases.assert_written_exactly([row.asDict() for row in table(spark, output, "curated").select(*columns).collect()])
    quarantined = table(spark, output, "quarantine").collect()
    intake_cases.assert_quarantined_exactly([intake_cases.quarantine_key(q.record, q.reasons) for q in quarantined])
    records = json.loads((output / "dq_report.json").read_text())["records"]
    assert records["read"] == records["written"] + records["quarantined"] == len(intake_cases.WRITTEN) + len(intake_cases.QUARANTINED)


def test_a_rerun_commits_nothing_and_a_grown_input_commits_only_what_is_new(spark, tmp_path, capsys):
    source, output = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    first = (PROJECT_ROOT / "samples" / "complaints" / "complaints-000.jsonl").read_bytes()
    (source / "complaints-000.jsonl").write_bytes(first)
    arguments = ["--input", str(source), "--output", str(output)]
    assert run_local_module.run(arguments) == 0
    counts = (table(spark, output, "curated").count(), table(spark, output, "quarantine").count())
    assert sum(counts) == first.count(b"\n")
    # The same objects again, as after a crash between the tables' commits and the bookmark's: nothing new.
    assert run_local_module.run(arguments) == 0
    assert json.loads((output / "dq_report.json").read_text())["records"]["already_committed"] == sum(counts)
    assert (table(spark, output, "curated").count(), table(spark, output, "quarantine").count()) == counts
    # A batch that grew: only the new object's records are committed.
    second = (PROJECT_ROOT / "samples" / "complaints" / "complaints-001.jsonl").read_bytes()
    (source / "complaints-001.jsonl").write_bytes(second)
    assert run_local_module.run(arguments) == 0
    records = json.loads((output / "dq_report.json").read_text())["records"]
    assert (records["already_committed"], records["written"] + records["quarantined"]) == (sum(counts), second.count(b"\n"))
    sources = table(spark, output, "curated").groupBy("source_object").count().collect()
    assert sorted(row.source_object.rsplit("/", 1)[1] for row in sources) == ["complaints-000.jsonl", "complaints-001.jsonl"]
    job_runs = {row.job_run_id for row in table(spark, output, "curated").select("job_run_id").distinct().collect()}
    assert len(job_runs) == 2  # the first run's rows and the third's; the rerun added none
    capsys.readouterr()


def test_a_column_added_to_the_schema_appears_and_older_rows_read_null(spark, tmp_path, capsys):
    source, output = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    (source / "a.jsonl").write_text('{"sku": "A-1", "qty": 3}\n')
    schema = {"columns": [{"name": "sku", "type": "string"}, {"name": "qty", "type": "int"}]}
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    (tmp_path / "rules.dqdl").write_text("Rules = [ IsComplete sku ]")
    arguments = ["--input", str(source), "--output", str(output), "--schema", str(tmp_path / "schema.json"), "--ruleset", str(tmp_path / "rules.dqdl")]
    assert run_local_module.run(arguments) == 0
    schema["columns"].append({"name": "colour", "type": "string"})
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    (source / "b.jsonl").write_text('{"sku": "A-2", "qty": 1, "colour": "red"}\n')
    assert run_local_module.run(arguments) == 0
    rows = {row.sku: row.colour for row in table(spark, output, "curated").collect()}
    assert rows == {"A-1": None, "A-2": "red"}
    assert {row["sku"]: row["colour"] for row in pyiceberg_rows(output, "curated")} == rows
    capsys.readouterr()
