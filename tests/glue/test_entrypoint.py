"""The Glue entrypoint's wiring, with the Glue-only seam replaced by a stand-in that reads local files."""

from __future__ import annotations

import logging

import pytest

from gluescripts import json_to_pq
from gluescripts.etl.arguments import ArgumentError
from gluescripts.etl.job import JobFailed
from gluescripts.etl.local_io import read_json_lines
from tests.glue.conftest import MemorySink
from tools.synthetic_complaints import write_files


class LocalRuntime:
    """Stands in for GlueRuntime: same calls, local files instead of the catalog, a log of what happened."""

    def __init__(self, spark, input_dir, events):
        self.spark, self.input_dir, self.events = spark, input_dir, events
        self.memory = MemorySink()

    def __call__(self, args):
        self.events.append(("init", args["JOB_NAME"], args.get("JOB_RUN_ID")))
        return self

    def read_new_records(self, database, table):
        self.events.append(("read", f"{database}.{table}"))
        return read_json_lines(self.spark, str(self.input_dir))

    def sink(self, output_path, quarantine_path):
        self.events.append(("sink", output_path, quarantine_path))
        runtime = self

        class RecordingSink:
            def write_quarantine(self, records):
                runtime.memory.write_quarantine(records)
                runtime.events.append(("write", "quarantine"))

            def write_output(self, records, partition_column):
                runtime.memory.write_output(records, partition_column)
                runtime.events.append(("write", "output"))

        return RecordingSink()

    def publish_results(self, records, ruleset):
        self.events.append(("publish", records.count(), ruleset.startswith("#")))

    def commit(self):
        self.events.append(("commit",))


ARGV = [
    "json_to_pq.py",
    "--JOB_NAME", "json-to-pq-dev",
    "--JOB_RUN_ID", "jr_0123",
    "--job-bookmark-option", "job-bookmark-enable",
    "--dbname", "travel",
    "--table", "complaints",
    "--outputpath", "s3://curated/complaints/",
    "--quarantinepath", "s3://curated/complaints_quarantine/",
    "--max_quarantine_fraction", "0.1",
]


@pytest.fixture
def runtime(spark, tmp_path):
    return LocalRuntime(spark, tmp_path / "input", [])


def test_a_good_batch_writes_quarantine_then_output_then_commits(runtime, caplog):
    write_files(runtime.input_dir, 150, files=2, bad_fraction=0.03, seed=11)
    with caplog.at_level(logging.INFO, logger="json_to_pq"):
        json_to_pq.main(ARGV, runtime)
    kinds = [event[0] if event[0] != "write" else event[1] for event in runtime.events]
    assert kinds == ["init", "read", "sink", "quarantine", "output", "publish", "commit"]
    assert runtime.events[2] == ("sink", "s3://curated/complaints/", "s3://curated/complaints_quarantine/")
    assert runtime.events[0] == ("init", "json-to-pq-dev", "jr_0123")
    assert runtime.events[1] == ("read", "travel.complaints")
    assert len(runtime.memory.output) + len(runtime.memory.quarantine) == 150
    assert "read 150, written" in caplog.text


def test_a_failing_batch_raises_and_does_not_commit(runtime):
    write_files(runtime.input_dir, 100, files=1, bad_fraction=0.5, seed=12)
    with pytest.raises(JobFailed, match=r"^travel.complaints: .*quarantined \d+ of 100 records \(\d+.\d%\), above the limit of 10.0%$"):
        json_to_pq.main(ARGV, runtime)
    assert ("commit",) not in runtime.events
    assert runtime.memory.events == []


def test_no_new_records_commits_without_writing(runtime):
    runtime.input_dir.mkdir()
    (runtime.input_dir / "empty.jsonl").write_text("")
    json_to_pq.main(ARGV, runtime)
    assert [event[0] for event in runtime.events] == ["init", "read", "commit"]


def test_missing_job_argument_is_named_before_anything_runs(runtime):
    argv = [a for a in ARGV if a not in ("--quarantinepath", "s3://curated/complaints_quarantine/")]
    with pytest.raises(ArgumentError, match=r"^missing job argument\(s\): --quarantinepath$"):
        json_to_pq.main(argv, runtime)
    assert runtime.events == []
