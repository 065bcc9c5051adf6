"""How the job says that a batch failed its data quality checks, in words the workflow can route on.

Kept free of Spark imports: the CDK app reads `DATA_QUALITY_FAILED` when it builds the state machine.
"""

from __future__ import annotations

# Glue puts the script's uncaught exception into the job run's ErrorMessage, which Step Functions
# passes on as the task failure's Cause; the state machine matches this word in it and does not
# retry a verdict that a rerun would only repeat.
DATA_QUALITY_FAILED = "GlueEtlDataQualityFailed"


class DataQualityFailed(RuntimeError):
    """The batch failed its data quality checks; nothing was written or committed."""

    def __init__(self, detail: str):
        super().__init__(f"{DATA_QUALITY_FAILED}: {detail}")
