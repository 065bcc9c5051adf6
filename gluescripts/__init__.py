"""The Glue job: a thin entrypoint (json_to_pq.py), its data logic (etl/) and a local runner (run_local.py)."""
