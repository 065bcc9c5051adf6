"""AWS Glue job entrypoint: JSON records of a catalog table to validated Parquet, bad ones to quarantine.

Arguments (set by the stack): --dbname, --table, --outputpath, --quarantinepath,
--max_quarantine_fraction; Glue adds --JOB_NAME. The data logic lives in gluescripts.etl, shipped
to Glue with --extra-py-files together with schema.json and ruleset.dqdl.
"""

from __future__ import annotations

import logging
import sys

from gluescripts.etl.job import run_job


def main(argv: list[str], runtime_factory) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_job(argv, runtime_factory)


if __name__ == "__main__":
    from gluescripts.etl.glue_runtime import GlueRuntime

    main(sys.argv, GlueRuntime)
