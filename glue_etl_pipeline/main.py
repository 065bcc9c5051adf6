"""Builds the CDK app: one pipeline stack per selected environment of `environment.conf`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from aws_cdk import App, Aspects, Validations
from cdk_nag import AwsSolutionsChecks

from glue_etl_pipeline.compliance import DropRedundantDependsOn
from glue_etl_pipeline.config import ConfigError, PipelineConfig, load_config
from glue_etl_pipeline.job_package import PACKAGE_DIR
from glue_etl_pipeline.pipeline_stack import GlueEtlPipelineStack
from gluescripts.etl.table_schema import SchemaError, load_schema

CONFIG_FILE = Path(__file__).resolve().parent.parent / "environment.conf"


def build_app(app: App, config: PipelineConfig, selected: str | None) -> list[GlueEtlPipelineStack]:
    """Add one stack per selected environment (every environment when `selected` is empty).

    Every synth is checked against the AWS Solutions rules; an unacknowledged finding fails it.
    The job creates its tables from schema.json on its first run: a problem in it is a `ConfigError`
    here, at synth, rather than a failed run after a deploy.
    """
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    Aspects.of(app).add(DropRedundantDependsOn())
    schema_file = PACKAGE_DIR / "schema.json"
    try:
        load_schema(schema_file.read_text(encoding="utf-8"))
    except SchemaError as problem:
        raise ConfigError(f"gluescripts/{schema_file.name}: {problem}") from None
    return [GlueEtlPipelineStack(app, config=env) for env in config.select(selected)]


def selected_environment(app: App) -> str | None:
    """`-c env=NAME` wins over TARGET_ENVIRONMENT (the original pipeline's variable); neither means all."""
    return app.node.try_get_context("env") or os.environ.get("TARGET_ENVIRONMENT") or None


def main() -> None:
    """Entry point of `cdk synth`: a configuration problem ends the process with one line, not a traceback."""
    app = App()
    try:
        build_app(app, load_config(CONFIG_FILE), selected_environment(app))
    except ConfigError as problem:
        print(f"error: {problem}", file=sys.stderr)
        sys.exit(1)
    app.synth()
