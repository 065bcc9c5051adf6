"""The tables' daily maintenance with Iceberg's own procedures: compaction, snapshot expiry, orphan files."""

from __future__ import annotations

import logging
import os
import types
import uuid
from datetime import datetime, timedelta, timezone

from gluescripts.etl import job
from gluescripts.etl.iceberg_sink import KEEP_SNAPSHOTS, MAINTAINED_AT, IcebergSink, TableLocation
from gluescripts.etl.spark import register_local_catalog
from gluescripts.etl.table_schema import load_schema

SCHEMA = load_schema('{"columns": [{"name": "id", "type": "int"}, {"name": "at", "type": "timestamp"}], "partition": {"column": "day", "from": "at"}}')


def test_maintenance_compacts_expires_and_removes_orphans_once_a_day_and_keeps_every_row(spark, tmp_path):
    catalog = register_local_catalog(spark, f"kept_{uuid.uuid4().hex[:8]}", str(tmp_path / "warehouse"))
    curated, quarantine = TableLocation(f"{catalog}.travel.curated"), TableLocation(f"{catalog}.travel.quarantine")
    start = datetime.now(timezone.utc)
    for batch in range(KEEP_SNAPSHOTS + 5):
        sink = IcebergSink(spark, SCHEMA, curated, quarantine, f"jr_{batch}", start)
        sink.ensure_tables()
        rows = spark.createDataFrame(
            [(batch, start, f"s3://raw/{batch}.json", start)], "id int, at timestamp, source_object string, source_modified_at timestamp"
        )
        sink.write_output(rows)
        sink.publish()
    # A file no snapshot references, as a crashed write leaves one, and one outside data/.
    data = tmp_path / "warehouse" / "travel" / "curated" / "data"
    orphan, outside = data / "orphan.parquet", data.parent / "earlier-output.parquet"
    for path in (orphan, outside):
        path.write_bytes(b"not referenced")
        old = (start - timedelta(days=10)).timestamp()
        os.utime(path, (old, old))
    files_before = spark.table(f"{curated.identifier}.files").count()

    # Iceberg judges snapshot and file ages by the clock: the retention is shortened instead of time passing.
    later = IcebergSink(spark, SCHEMA, curated, quarantine, "jr_later", datetime.now(timezone.utc), snapshot_retention=timedelta(0))
    assert later.maintain() == [curated.identifier, quarantine.identifier]
    assert spark.table(curated.identifier).count() == KEEP_SNAPSHOTS + 5  # every row kept
    assert spark.table(f"{curated.identifier}.files").count() < files_before  # small files compacted
    assert spark.table(f"{curated.identifier}.snapshots").count() <= KEEP_SNAPSHOTS + 1
    assert not orphan.exists() and outside.exists()
    # Done for the day: the next run leaves the tables alone.
    assert IcebergSink(spark, SCHEMA, curated, quarantine, "jr_next", datetime.now(timezone.utc) + timedelta(hours=1)).maintain() == []
    tomorrow = IcebergSink(spark, SCHEMA, curated, quarantine, "jr_tomorrow", datetime.now(timezone.utc) + timedelta(days=1, minutes=1))
    assert tomorrow.maintain() == [curated.identifier, quarantine.identifier]
    # Each table by its own last maintenance: one done an hour ago is left, one done exactly a day ago is due.
    at = datetime.now(timezone.utc) + timedelta(days=3)
    for table, last in ((curated, at - timedelta(hours=1)), (quarantine, at - timedelta(days=1))):
        spark.sql(f"ALTER TABLE {table.identifier} SET TBLPROPERTIES ('{MAINTAINED_AT}' = '{last.isoformat()}')")
    assert IcebergSink(spark, SCHEMA, curated, quarantine, "jr_later_still", at).maintain() == [quarantine.identifier]


def test_the_job_logs_each_table_it_maintained(caplog):
    sink = types.SimpleNamespace(maintain=lambda: ["glue_catalog.travel.curated", "glue_catalog.travel.quarantine"])
    with caplog.at_level(logging.INFO, logger="json_to_pq"):
        job._maintain(sink)
    assert caplog.messages == [
        f"maintained glue_catalog.travel.{name}: small files compacted, old snapshots expired, orphan files removed"
        for name in ("curated", "quarantine")
    ]
