#!/usr/bin/env python3
"""CDK entry point: one GlueEtlPipeline-<ENV> stack per section of environment.conf."""

from glue_etl_pipeline.main import main

if __name__ == "__main__":
    main()
