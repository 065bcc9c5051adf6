"""Fault injection at every step of a batch's commit sequence, then a retry: the real Iceberg tables
(Iceberg 1.7.1, a local catalog) hold each record exactly once, and a reader between the failure
and the retry sees the previous state of each table, never part of a batch.

The steps: staging the quarantine, staging the output, publishing the quarantine, publishing the
output, and everything after both publishes (the bookmark commit, the metrics), which a retry
meets as a batch read again.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from datetime import datetime, timezone

import pytest

from gluescripts.etl.bundled import SCHEMA_FILE, bundled_text
from gluescripts.etl.evaluate import evaluate_locally
from gluescripts.etl.iceberg_sink import IcebergSink, TableLocation
from gluescripts.etl.pipeline import process_batch
from gluescripts.etl.schema import lines_with_source, load_schema
from gluescripts.etl.spark import register_local_catalog
from tools.synthetic_complaints import write_files


@pytest.fixture(scope="module")
def objects(tmp_path_factory) -> list:
    """Three source objects, one in five records bad in every way; the second repeats the id of a
    record of the first, so the first object's verdict depends on whether the second is in its batch."""
    folder = tmp_path_factory.mktemp("raw")
    write_files(folder, 30, files=3, bad_fraction=0.3, seed=41)
    files = sorted(folder.glob("*.jsonl"))
    first_good = next(json.loads(line) for line in files[0].read_text().splitlines() if line.startswith('{"complaint_id"'))
    with files[1].open("a") as second:
        second.write(json.dumps({**first_good, "description": "sent twice"}) + "\n")
    return files


@pytest.fixture(scope="module")
def clean(spark, objects, tmp_path_factory):
    """The tables one run without a crash leaves, for the first object, the first two, and all three."""
    scratch = tmp_path_factory.mktemp("clean")
    return {count: clean_run(spark, scratch, objects[:count]) for count in (1, 2, 3)}

SCHEMA = load_schema(bundled_text(SCHEMA_FILE))
# Row rules, and one whose verdict depends on the whole batch: what decides where a record goes.
RULESET = 'Rules = [ IsPrimaryKey "complaint_id", IsComplete "filed_at", ColumnValues "delay_minutes" >= 0 ]'


class Crash(RuntimeError):
    """The process dies here."""


class CrashingSink(IcebergSink):
    """The real sink, dying at one step of the commit sequence."""

    def __init__(self, *args, crash_at: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.crash_at = crash_at

    def write_quarantine(self, records, replacing):
        if self.crash_at == "stage quarantine":
            raise Crash(self.crash_at)
        super().write_quarantine(records, replacing)

    def write_output(self, records):
        if self.crash_at == "stage output":
            raise Crash(self.crash_at)
        super().write_output(records)

    def publish(self):
        if self.crash_at == "publish quarantine":
            raise Crash(self.crash_at)
        if self.crash_at == "publish output":
            # The quarantine's commit went through; the process dies before the output's.
            self._staged = self._staged[:1]
            super().publish()
            raise Crash(self.crash_at)
        super().publish()
        if self.crash_at == "after both publishes":
            raise Crash(self.crash_at)


@pytest.fixture
def tables(spark, tmp_path):
    catalog = register_local_catalog(spark, f"once_{uuid.uuid4().hex[:8]}", str(tmp_path / "warehouse"))
    curated, quarantine = TableLocation(f"{catalog}.travel.curated"), TableLocation(f"{catalog}.travel.quarantine")

    def sink(crash_at: str | None = None, attempt: int = 0):
        arguments = (spark, SCHEMA, curated, quarantine, f"jr_attempt_{attempt}", datetime.now(timezone.utc))
        made = CrashingSink(*arguments, crash_at=crash_at) if crash_at else IcebergSink(*arguments)
        made.ensure_tables()
        return made

    sink.curated, sink.quarantine, sink.scratch = curated, quarantine, tmp_path
    return sink


def rows(spark, location: TableLocation) -> list[tuple]:
    """A table's records by their content and object (the run id and time differ between attempts)."""
    table = spark.table(location.identifier)
    key = ["record", "reasons"] if location.identifier.endswith("quarantine") else ["complaint_id", "filed_at", "description"]
    return sorted(tuple(str(value) for value in row) for row in table.select(*key, "source_object").collect())


def read(spark, files):
    # Glob characters escaped, as the Glue runtime reads the files Glue chose (a backslash is one).
    return lines_with_source(spark.read.text([re.sub(r"([\\*?\[\]{}])", r"\\\1", str(path)) for path in files]))


def clean_run(spark, scratch, files) -> IcebergSink:
    """One run without a crash, into tables of its own."""
    reference = register_local_catalog(spark, f"ref_{uuid.uuid4().hex[:8]}", str(scratch / uuid.uuid4().hex))
    clean = IcebergSink(
        spark, SCHEMA, TableLocation(f"{reference}.travel.curated"), TableLocation(f"{reference}.travel.quarantine"),
        "jr_clean", datetime.now(timezone.utc),
    )
    clean.ensure_tables()
    process_batch(read(spark, files), SCHEMA, RULESET, evaluate_locally, 1.0, clean)
    return clean


def committed_once(spark, tables, clean) -> None:
    """Both tables hold every record exactly once: a clean run's rows, no more."""
    assert rows(spark, tables.curated) == rows(spark, clean.curated)
    assert rows(spark, tables.quarantine) == rows(spark, clean.quarantine)


@pytest.mark.parametrize(
    ("crash_at", "visible_after_crash"),
    [
        ("stage quarantine", (False, False)),
        ("stage output", (False, False)),
        ("publish quarantine", (False, False)),
        ("publish output", (False, True)),
        ("after both publishes", (True, True)),
    ],
)
def test_a_crash_at_any_step_then_a_retry_commits_every_record_exactly_once(spark, tables, objects, clean, crash_at, visible_after_crash):
    files = objects[:1]
    with pytest.raises(Crash):
        process_batch(read(spark, files), SCHEMA, RULESET, evaluate_locally, 1.0, tables(crash_at))
    # A reader between the crash and the retry: each table shows its whole part of the batch, or none of it.
    curated, quarantine = rows(spark, tables.curated), rows(spark, tables.quarantine)
    assert (bool(curated), bool(quarantine)) == visible_after_crash
    report = process_batch(read(spark, files), SCHEMA, RULESET, evaluate_locally, 1.0, tables(attempt=1))
    assert report.read == report.written + report.quarantined + report.already_committed
    # An object the curated table holds is whole; one only the quarantine holds is routed again.
    assert report.already_committed == (report.read if curated else 0)
    committed_once(spark, tables, clean[1])


def test_a_batch_that_grew_between_attempts_commits_only_what_is_new(spark, tables, objects, clean):
    # The case that matters: a duplicate id in a new object changes the first object's verdict.
    first = f"file:{objects[0]}"
    assert [r for r in rows(spark, clean[3].quarantine) if r[-1] == first] != rows(spark, clean[1].quarantine)
    with pytest.raises(Crash):
        process_batch(read(spark, objects[:1]), SCHEMA, RULESET, evaluate_locally, 1.0, tables("publish output"))
    # New objects arrived before the retry; its batch holds the old object and the new ones.
    process_batch(read(spark, objects), SCHEMA, RULESET, evaluate_locally, 1.0, tables(attempt=1))
    committed_once(spark, tables, clean[3])


def test_a_rerun_of_a_committed_batch_commits_nothing(spark, tables, objects, clean):
    process_batch(read(spark, objects[:2]), SCHEMA, RULESET, evaluate_locally, 1.0, tables())
    snapshots = spark.table(f"{tables.curated.identifier}.snapshots").count()
    report = process_batch(read(spark, objects[:2]), SCHEMA, RULESET, evaluate_locally, 1.0, tables(attempt=1))
    assert (report.written, report.quarantined) == (0, 0) and report.already_committed == report.read
    assert spark.table(f"{tables.curated.identifier}.snapshots").count() == snapshots  # not even an empty commit
    committed_once(spark, tables, clean[2])


def snapshot_counts(spark, tables) -> tuple[int, int]:
    return tuple(spark.table(f"{t.identifier}.snapshots").count() for t in (tables.curated, tables.quarantine))


def test_an_object_of_only_bad_records_is_done_once_committed(spark, tables, tmp_path):
    """Quarantine only, but its attempt's curated commit (with no row) is in the history: committed whole."""
    garbage = tmp_path / "in" / "garbage.jsonl"
    garbage.parent.mkdir()
    garbage.write_text("not json\n[1, 2]\n")
    process_batch(read(spark, [garbage]), SCHEMA, RULESET, evaluate_locally, 1.0, tables())
    assert spark.table(tables.quarantine.identifier).count() == 2 and spark.table(tables.curated.identifier).count() == 0
    before = snapshot_counts(spark, tables)
    report = process_batch(read(spark, [garbage]), SCHEMA, RULESET, evaluate_locally, 1.0, tables(attempt=1))
    assert (report.quarantined, report.already_committed) == (0, 2)
    assert snapshot_counts(spark, tables) == before
    assert {row.job_run_id for row in spark.table(tables.quarantine.identifier).collect()} == {"jr_attempt_0"}

    odd = tmp_path / "in" / "it's O'Brien's \\new file.jsonl"
def test_object_names_with_quotes_and_backslashes_are_matched_exactly(spark, tables, objects, tmp_path):
    odd = tmp_path / "in" / "it's O'Brien's \\ file.jsonl"
    odd.parent.mkdir()
    odd.write_bytes(objects[0].read_bytes() + b"not json\n")
    with pytest.raises(Crash):
        process_batch(read(spark, [odd]), SCHEMA, RULESET, evaluate_locally, 1.0, tables("publish output"))
    process_batch(read(spark, [odd]), SCHEMA, RULESET, evaluate_locally, 1.0, tables(attempt=1))
    # The cut-off object's quarantine rows were replaced, not added to: each record once.
    records = [row.record for row in spark.table(tables.quarantine.identifier).collect()]
    assert len(records) == len(set(records)) and "not json" in records


def test_a_new_version_of_an_object_is_new_data(spark, tables, tmp_path):
    """A producer overwrites a key with corrected records: the bookmarks read it again, and so does the job."""
    source = tmp_path / "in" / "complaints.jsonl"
    source.parent.mkdir()
    source.write_text('{"complaint_id": "C1", "filed_at": "2026-11-30T10:00:00Z", "delay_minutes": 5}\n')
    process_batch(read(spark, [source]), SCHEMA, RULESET, evaluate_locally, 1.0, tables())
    source.write_text('{"complaint_id": "C2", "filed_at": "2026-11-30T11:00:00Z", "delay_minutes": 7}\n')
    later = source.stat().st_mtime + 60
    os.utime(source, (later, later))
    report = process_batch(read(spark, [source]), SCHEMA, RULESET, evaluate_locally, 1.0, tables(attempt=1))
    assert (report.written, report.already_committed) == (1, 0)
    assert sorted(row.complaint_id for row in spark.table(tables.curated.identifier).collect()) == ["C1", "C2"]


def test_a_staged_batch_is_invisible_and_its_write_audit_publish_id_is_refused_a_second_time(spark, tables):
    sink = tables()
    output = spark.createDataFrame([("c-1", "s3://raw/a.json", None)], "complaint_id string, source_object string, source_modified_at timestamp")
    columns = ", ".join(f"CAST(NULL AS {c.type}) AS `{c.name}`" for c in SCHEMA.columns if c.name != "complaint_id")
    sink.write_output(output.selectExpr("complaint_id", "source_object", "source_modified_at", *columns.split(", ")))
    assert spark.table(tables.curated.identifier).count() == 0
    staged = list(sink._staged)
    sink.publish()
    assert spark.table(tables.curated.identifier).count() == 1
    sink._staged = staged
    with pytest.raises(Exception, match="DuplicateWAPCommitException|Duplicate request to cherry pick wap id"):
        sink.publish()
    assert spark.table(tables.curated.identifier).count() == 1
