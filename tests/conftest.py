"""Session-wide fixtures: each stack is synthesized once per test session."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

# Before aws_cdk starts its Node.js runtime, which would print an end-of-life banner on Node 20.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import pytest  # noqa: E402
from aws_cdk import App  # noqa: E402
from aws_cdk.assertions import Template

from glue_etl_pipeline.config import PipelineConfig, S3Location, load_config
from glue_etl_pipeline.main import CONFIG_FILE, build_app


def pytest_addoption(parser):
    parser.addoption(
        "--build-fixtures-eagerly",
        action="store_true",
        help="synthesize every template as its fixture is set up, not when a test first reads it: the "
        "mutation tool's clean pass records what each test reaches through the fixtures it uses",
    )


@pytest.fixture(scope="session")
def project_config() -> PipelineConfig:
    return load_config(CONFIG_FILE)


def synthesize(config: PipelineConfig, outdir: Path) -> dict[str, Template]:
    """Synthesize as `cdk synth` does: with cdk.json's feature flags."""
    context = json.loads((Path(__file__).resolve().parent.parent / "cdk.json").read_text())["context"]
    app = App(outdir=str(outdir), context=context)
    stacks = build_app(app, config, None)
    return {stack.node.id.removeprefix("GlueEtlPipeline-"): Template.from_stack(stack) for stack in stacks}


class TemplatesOnDemand(Mapping[str, Template]):
    """Each environment's template, synthesized the first time a test reads it, in an app of its own.

    Template.from_stack synthesizes the stack's whole app again, so one app of n stacks costs n
    syntheses of n stacks; and a test that reads one environment waits for that one only. Built
    eagerly, every environment is synthesized at once, inside the fixture that builds the mapping.
    """

    def __init__(self, config: PipelineConfig, outdir: Path, *, eagerly: bool):
        self._config = config
        self._outdir = outdir
        self._synthesized = {name: self._synthesize(name) for name in config.names} if eagerly else {}

    def _synthesize(self, name: str) -> Template:
        (environment,) = self._config.select(name)
        alone = PipelineConfig(source=self._config.source, environments=(environment,))
        return synthesize(alone, self._outdir)[environment.name]

    def __getitem__(self, name: str) -> Template:
        if name not in self._synthesized:
            self._synthesized[name] = self._synthesize(name)
        return self._synthesized[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._config.names)

    def __len__(self) -> int:
        return len(self._config.environments)


@pytest.fixture(scope="session")
def assembly_dir(tmp_path_factory) -> Path:
    """Where the project's environments are synthesized; holds the staged assets."""
    return tmp_path_factory.mktemp("cdk.out")


@pytest.fixture(scope="session")
def project_templates(request, project_config, assembly_dir) -> TemplatesOnDemand:
    return TemplatesOnDemand(project_config, assembly_dir, eagerly=request.config.getoption("--build-fixtures-eagerly"))


@pytest.fixture(scope="session")
def templates(project_templates) -> dict[str, Template]:
    """The templates of environment.conf's environments, by environment name, each written to assembly_dir."""
    return dict(project_templates)


@pytest.fixture(scope="session")
def dev_template(project_templates) -> Template:
    """DEV: started on schedule (disabled) and by new objects in the stack's own raw bucket."""
    return project_templates["DEV"]


@pytest.fixture(scope="session")
def test_template(project_templates) -> Template:
    """TEST: started by new objects under an existing bucket's prefix."""
    return project_templates["TEST"]


@pytest.fixture(scope="session")
def prod_template(project_templates) -> Template:
    """PROD: started on schedule only, reading an existing bucket."""
    return project_templates["PROD"]


@pytest.fixture(scope="session")
def variant_templates(request, project_config, tmp_path_factory) -> TemplatesOnDemand:
    """Configurations environment.conf does not exercise: an imported topic, an email subscriber, pinned env."""
    base = project_config.select("PROD")[0]
    variants = (
        dataclasses.replace(
            base, name="IMPORTED", topic_arn="arn:aws:sns:eu-west-1:123456789012:data-platform-alerts"
        ),
        dataclasses.replace(
            base,
            name="EMAIL",
            notification_email="data-team@example.com",
            account="123456789012",
            region="eu-west-1",
            schedule="rate(2 hours)",
            worker_type="G.2X",
            number_of_workers=5,
            job_timeout_minutes=29,
        ),
        dataclasses.replace(base, name="OWNBUCKET", trigger="s3", source_s3_location=None),
        # A source at the bucket's root: every new object of the bucket starts the pipeline.
        dataclasses.replace(base, name="WHOLEBUCKET", trigger="s3", source_s3_location=S3Location("example-travel-raw-prod", "")),
        # Key filters no environment.conf environment sets: a narrower prefix, alone and with a suffix.
        dataclasses.replace(base, name="PREFIXED", trigger="s3", event_key_prefix="complaints/incoming/"),
        dataclasses.replace(
            base, name="FILTERED", trigger="s3", event_key_prefix="complaints/incoming/", event_key_suffix=".json"
        ),
        dataclasses.replace(
            base,
            name="KEYS",
            source_kms_key_arn="arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            destination_kms_key_arn="arn:aws:kms:eu-west-1:123456789012:key/0987dcba-09fe-87dc-65ba-ab0987654321",
        ),
        dataclasses.replace(base, name="FLEX", execution_class="flex", job_timeout_minutes=8),
        dataclasses.replace(
            base, name="CATALOG", output_database="analytics", output_table_name="complaints_clean", quarantine_table_name="complaints_rejected"
        ),
    )
    return TemplatesOnDemand(
        PipelineConfig(source="variants", environments=variants),
        tmp_path_factory.mktemp("variants"),
        eagerly=request.config.getoption("--build-fixtures-eagerly"),
    )

