"""The run's own CloudWatch metrics: one namespace, an `Environment` dimension, one call per run.

Free of Spark: the CDK app reads the namespace and names to build the alarms and the dashboard.
"""

from __future__ import annotations

NAMESPACE = "GlueEtlPipeline"
ENVIRONMENT = "Environment"
RECORDS_READ, RECORDS_WRITTEN, RECORDS_QUARANTINED = "RecordsRead", "RecordsWritten", "RecordsQuarantined"
RECORDS_MALFORMED, RECORDS_WITH_UNKNOWN_FIELDS = "RecordsMalformed", "RecordsWithUnknownFields"
# Records of objects an earlier attempt already committed (a retry or rerun leaves them out).
RECORDS_ALREADY_COMMITTED = "RecordsAlreadyCommitted"
RUN_DURATION = "RunDurationSeconds"
# 1 for a batch that failed its checks (nothing written), 0 for every other run.
BATCHES_FAILED = "BatchesFailed"


def run_metrics(environment: str, duration_seconds: float, counts: dict[str, int]) -> list[dict]:
    """The MetricData of one run for PutMetricData: each count in `counts` (by metric name) and the duration."""
    dimensions = [{"Name": ENVIRONMENT, "Value": environment}]
    data = [{"MetricName": name, "Dimensions": dimensions, "Value": float(value), "Unit": "Count"} for name, value in counts.items()]
    data.append({"MetricName": RUN_DURATION, "Dimensions": dimensions, "Value": round(duration_seconds, 3), "Unit": "Seconds"})
    return data
