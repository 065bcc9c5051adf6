"""CDK code for the Glue ETL pipeline: configuration model, constructs and the per-environment stack."""
