"""The curated and quarantine tables: Apache Iceberg (format v2), written once per batch, published together.

The job owns the tables: it creates them when they are missing and adds the columns schema.json
gained (`ensure_tables`). CloudFormation never holds them, so a stack update cannot strip their
Iceberg metadata (cloudformation-coverage-roadmap #1919), a redeploy after `cdk destroy` finds
them as they were, and a new column needs no replacement.

Exactly once, per table:
- A batch is staged, not published: both writes run under a write-audit-publish id
  (`write.wap.enabled`, `spark.wap.id`), so each creates a snapshot that readers do not see.
  Only once the batch reconciles does `publish` make them current, quarantine first, then curated;
  each `publish_changes` is one atomic commit of one table (Iceberg's optimistic commit in the
  catalog), and it refuses a WAP id published before.
- Every row carries the object and version it came from (`source_object`, `source_modified_at`),
  and an object's rows for one table are committed together. Each batch that commits anything
  publishes the quarantine first and the curated table last, the curated commit even when it adds
  no row: it marks the attempt complete. A retry or rerun reads objects some of which may be
  committed already; `committed_sources` tells apart those committed whole (in the curated table,
  or in the quarantine by an attempt whose curated commit is in the table's history) from those an
  attempt cut off between its two commits (see `pipeline._route_and_write`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from gluescripts.etl.schema import SOURCE_KEY_SQL, source_key
from gluescripts.etl.table_schema import LINEAGE_COLUMNS, SOURCE_MODIFIED_AT, SOURCE_OBJECT, TableSchema

# Snapshots are kept this long (and the newest KEEP_SNAPSHOTS always): time travel, and the record of
# which attempts completed (`_completed_runs`), reach back that far.
SNAPSHOT_RETENTION = timedelta(days=14)
# Table maintenance runs at most once per MAINTENANCE_INTERVAL, in the first run after it is due.
MAINTENANCE_INTERVAL = timedelta(days=1)
MAINTAINED_AT = "glue-etl-pipeline.maintained-at"
# Files no snapshot references are deleted once this old: far longer than any write in progress.
ORPHAN_AGE = timedelta(days=3)
KEEP_SNAPSHOTS = 10
QUARANTINE_COLUMNS = (("record", "string"), ("reasons", "array<string>"))
TABLE_PROPERTIES = {
    "format-version": "2",
    "write.wap.enabled": "true",
    # Copy-on-write for everything: Athena and every engine read the files as they are.
    "write.delete.mode": "copy-on-write",
    "write.update.mode": "copy-on-write",
    "write.merge.mode": "copy-on-write",
    "history.expire.max-snapshot-age-ms": str(int(SNAPSHOT_RETENTION.total_seconds() * 1000)),
    # Whole values in the files' statistics, so a lookup of a batch's objects reads only the files
    # that can hold them (Iceberg keeps a 16-character prefix by default).
    f"write.metadata.metrics.column.{SOURCE_OBJECT}": "full",
}


def sql_string(text: str) -> str:
    """A Spark SQL string literal of `text` (Spark escapes with a backslash; '' would be two literals)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class TableSchemaMismatch(RuntimeError):
    """A table holds a column whose type differs from schema.json's: a change Iceberg cannot apply in place."""


@dataclass(frozen=True)
class TableLocation:
    """A table's identifier in the catalog (`catalog.database.table`), and where its files go (None: the catalog's default)."""

    identifier: str
    location: str | None = None


class IcebergSink:
    """Stages a batch in the curated and quarantine tables and publishes it."""

    def __init__(
        self,
        spark: SparkSession,
        schema: TableSchema,
        curated: TableLocation,
        quarantine: TableLocation,
        run_id: str,
        ingested_at: datetime,
        snapshot_retention: timedelta = SNAPSHOT_RETENTION,
    ):
        self.spark, self.schema, self.curated, self.quarantine = spark, schema, curated, quarantine
        self.run_id, self.ingested_at, self.snapshot_retention = run_id, ingested_at, snapshot_retention
        self._staged: list[tuple[TableLocation, str]] = []

    # --- the tables ---------------------------------------------------------------------------

    def ensure_tables(self) -> None:
        """Create missing tables; add the columns schema.json gained (older rows read NULL)."""
        lineage = list(LINEAGE_COLUMNS)
        curated_columns = [(c.name, c.type) for c in self.schema.columns] + lineage
        partition = (
            (f"days(`{self.schema.partition_source}`)", self.schema.partition_column) if self.schema.partition_source else None
        )
        self._ensure(self.curated, curated_columns, partition)
        self._ensure(self.quarantine, list(QUARANTINE_COLUMNS) + lineage, ("days(ingested_at)", "ingested_date"))

    def _ensure(self, table: TableLocation, columns: list[tuple[str, str]], partition: tuple[str, str] | None) -> None:
        namespace = table.identifier.rsplit(".", 1)[0]
        self.spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {namespace}")
        if not self.spark.catalog.tableExists(table.identifier):
            definition = ", ".join(f"`{name}` {kind}" for name, kind in columns)
            properties = ", ".join(f"'{key}'='{value}'" for key, value in TABLE_PROPERTIES.items())
            self.spark.sql(
                f"CREATE TABLE IF NOT EXISTS {table.identifier} ({definition}) USING iceberg"
                + (f" LOCATION {sql_string(table.location)}" if table.location else "")
                + f" TBLPROPERTIES ({properties})"
            )
        existing = {field.name.lower(): field.dataType.simpleString() for field in self.spark.table(table.identifier).schema.fields}
        for name, kind in columns:
            found = existing.get(name.lower())
            if found is None:
                self.spark.sql(f"ALTER TABLE {table.identifier} ADD COLUMNS (`{name}` {kind})")
            elif found != kind:
                raise TableSchemaMismatch(
                    f"{table.identifier}: column {name!r} is {found} in the table but {kind} in schema.json; "
                    "Iceberg cannot change it in place: add a new column instead, or migrate the table"
                )
        # Named after schema.json's partition column (CREATE TABLE would call it <source>_day). Added
        # here, not in CREATE TABLE, and so also after a crash between the two: partition evolution.
        if partition and partition[1] not in self._partition_fields(table):
            self.spark.sql(f"ALTER TABLE {table.identifier} ADD PARTITION FIELD {partition[0]} AS `{partition[1]}`")

    def _partition_fields(self, table: TableLocation) -> list[str]:
        """The names of the table's current partition fields, from Iceberg's own table object."""
        iceberg_table = self.spark._jvm.org.apache.iceberg.spark.Spark3Util.loadIcebergTable(self.spark._jsparkSession, table.identifier)
        return [field.name() for field in iceberg_table.spec().fields()]

    # --- one batch ----------------------------------------------------------------------------

    def committed_sources(self, keys: list[str]) -> tuple[set[str], set[str]]:
        """Of `keys` (`schema.source_key`), those committed whole, and those an attempt may have cut off."""
        wanted = set(keys)
        names = sorted({key.rsplit("@", 1)[0] for key in keys})

        def held(table: TableLocation, *columns: str) -> list:
            # Filtered by name first, which Iceberg prunes files by; then by the whole key.
            rows = (
                self.spark.table(table.identifier).filter(F.col(SOURCE_OBJECT).isin(names))
                .select(source_key().alias("key"), *columns).distinct().collect()
            )
            return [row for row in rows if row["key"] in wanted]

        in_curated = {row["key"] for row in held(self.curated)}
        quarantine_only = [row for row in held(self.quarantine, "job_run_id") if row["key"] not in in_curated]
        completed = self._completed_runs({row["job_run_id"] for row in quarantine_only})
        done = in_curated | {row["key"] for row in quarantine_only if row["job_run_id"] in completed}
        return done, {row["key"] for row in quarantine_only} - done

    def _completed_runs(self, runs: set[str]) -> set[str]:
        """The runs among `runs` whose curated commit is in the curated table's history (current ancestors)."""
        if not runs:
            return set()
        identifier = self.curated.identifier
        history = self.spark.table(f"{identifier}.history").filter("is_current_ancestor").select("snapshot_id")
        snapshots = self.spark.table(f"{identifier}.snapshots").select(
            "snapshot_id", F.coalesce(F.col("summary")["published-wap-id"], F.col("summary")["wap.id"]).alias("wap_id")
        )
        published = {row[0] for row in history.join(snapshots, "snapshot_id").select("wap_id").collect()}
        return {run for run in runs if f"{run}-curated" in published}

    def write_quarantine(self, records: DataFrame, replacing: list[str]) -> None:
        """Stage quarantined records (`record`, `reasons`, `source_object`), replacing the rows of `replacing`'s objects."""
        self._stage(self.quarantine, records.select("record", "reasons", SOURCE_OBJECT, SOURCE_MODIFIED_AT), "quarantine", replacing)

    def write_output(self, records: DataFrame) -> None:
        """Stage the records that passed (schema.json's columns and the source columns), even none."""
        self._stage(self.curated, records.select(*self.schema.column_names, SOURCE_OBJECT, SOURCE_MODIFIED_AT), "curated")

    def _stage(self, table: TableLocation, records: DataFrame, kind: str, replacing: tuple[str, ...] | list[str] = ()) -> None:
        wap_id = f"{self.run_id}-{kind}"
        with_lineage = records.withColumn("job_run_id", F.lit(self.run_id)).withColumn(
            "ingested_at", F.lit(self.ingested_at).cast("timestamp")
        )
        self.spark.conf.set("spark.wap.id", wap_id)
        try:
            if replacing:
                # One copy-on-write commit: every new row inserted (nothing matches ON FALSE), and the
                # table's rows of the replaced objects deleted.
                view = f"_staged_{kind}_{self.run_id}".replace("-", "_")
                # MERGE reads its source more than once: computed once here, so every read (and the
                # caller's count of the staged rows) sees the same rows.
                with_lineage.localCheckpoint().createOrReplaceTempView(view)
                objects = ", ".join(sql_string(key) for key in replacing)
                names = ", ".join(sql_string(key.rsplit("@", 1)[0]) for key in replacing)
                key = SOURCE_KEY_SQL.replace(SOURCE_OBJECT, f"t.{SOURCE_OBJECT}").replace(SOURCE_MODIFIED_AT, f"t.{SOURCE_MODIFIED_AT}")
                self.spark.sql(
                    f"MERGE INTO {table.identifier} AS t USING {view} AS s ON FALSE "
                    "WHEN NOT MATCHED THEN INSERT * "
                    f"WHEN NOT MATCHED BY SOURCE AND t.{SOURCE_OBJECT} IN ({names}) AND {key} IN ({objects}) THEN DELETE"
                )
                self.spark.catalog.dropTempView(view)
            else:
                with_lineage.writeTo(table.identifier).append()
        finally:
            self.spark.conf.unset("spark.wap.id")
        self._staged.append((table, wap_id))

    # --- maintenance ----------------------------------------------------------------------

    def maintain(self) -> list[str]:
        """Compact small files, expire old snapshots and delete orphan files, in each table due for it.

        Returns the tables maintained. The retention: snapshots older than `snapshot_retention`
        expire (the newest KEEP_SNAPSHOTS always stay, so time travel reaches back at least that
        far), and files under a table's `data/` that no snapshot references are deleted once older
        than ORPHAN_AGE. Only `data/`: anything else under the location (an earlier non-Iceberg
        output, say) is never touched.
        """
        maintained = []
        for table in (self.curated, self.quarantine):
            properties = {row.key: row.value for row in self.spark.sql(f"SHOW TBLPROPERTIES {table.identifier}").collect()}
            last = properties.get(MAINTAINED_AT)
            if last and datetime.fromisoformat(last) > self.ingested_at - MAINTENANCE_INTERVAL:
                continue
            catalog, name = table.identifier.split(".", 1)
            location = self.spark.sql(f"DESCRIBE TABLE EXTENDED {table.identifier}").filter("col_name = 'Location'").first()[1]
            self.spark.sql(f"CALL {catalog}.system.rewrite_data_files(table => '{name}', options => map('min-input-files', '5'))")
            expire_before = (self.ingested_at - self.snapshot_retention).strftime("%Y-%m-%d %H:%M:%S")
            self.spark.sql(
                f"CALL {catalog}.system.expire_snapshots(table => '{name}', "
                f"older_than => TIMESTAMP '{expire_before}', retain_last => {KEEP_SNAPSHOTS})"
            )
            orphans_before = (self.ingested_at - ORPHAN_AGE).strftime("%Y-%m-%d %H:%M:%S")
            # A table that never held a data file has no data/ folder to list (a local file system
            # refuses to list a missing one); its first commit's maintenance catches earlier orphans.
            if not self.spark.table(f"{table.identifier}.all_data_files").isEmpty():
                self.spark.sql(
                    f"CALL {catalog}.system.remove_orphan_files(table => '{name}', "
                    f"older_than => TIMESTAMP '{orphans_before}', location => '{location.rstrip('/')}/data')"
                )
            self.spark.sql(f"ALTER TABLE {table.identifier} SET TBLPROPERTIES ('{MAINTAINED_AT}' = '{self.ingested_at.isoformat()}')")
            maintained.append(table.identifier)
        return maintained

    def publish(self) -> None:
        """Make the staged snapshots current, in the order they were staged: one atomic commit per table."""
        for table, wap_id in self._staged:
            catalog, rest = table.identifier.split(".", 1)
            self.spark.sql(f"CALL {catalog}.system.publish_changes(table => '{rest}', wap_id => '{wap_id}')")
        self._staged.clear()
