"""The Azure DevOps pipeline and the architecture picture: structure checked, not just present."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.helpers import PROJECT_ROOT
from tools.diagram import graph

PIPELINE = yaml.safe_load((PROJECT_ROOT / "azure-pipelines.yml").read_text())


def expanded_stages() -> list[dict]:
    """The pipeline's stages with each stage template expanded by its parameters."""
    stages = []
    for entry in PIPELINE["stages"]:
        if "template" not in entry:
            stages.append(entry)
            continue
        text = (PROJECT_ROOT / entry["template"]).read_text()
        for name, value in entry["parameters"].items():
            text = text.replace("${{ parameters.%s }}" % name, str(value))
        assert "${{ parameters." not in text, f"unfilled parameter in {entry['template']}"
        stages.extend(yaml.safe_load(text)["stages"])
    return stages


def steps_of(stage: dict) -> list[dict]:
    (job,) = stage["jobs"]
    if "deployment" in job:
        return job["strategy"]["runOnce"]["deploy"]["steps"]
    return job["steps"]


def scripts(steps: list[dict]) -> str:
    return "\n".join(str(step.get("script", "")) + str(step.get("inputs", {}).get("inlineScript", "")) for step in steps)


def test_triggers_on_main_and_pull_requests():
    assert PIPELINE["trigger"]["branches"]["include"] == ["main"]
    assert PIPELINE["pr"]["branches"]["include"] == ["main"]


def test_stages_run_build_then_dev_test_prod_in_order():
    stages = expanded_stages()
    assert [stage["stage"] for stage in stages] == ["Build", "DEV", "TEST", "PROD"]
    assert [stage.get("dependsOn") for stage in stages[1:]] == ["Build", "DEV", "TEST"]


def test_pull_requests_run_only_the_build_stage():
    for stage in expanded_stages()[1:]:
        assert "ne(variables['Build.Reason'], 'PullRequest')" in stage["condition"]
        assert "eq(variables['Build.SourceBranch'], 'refs/heads/main')" in stage["condition"]


def test_build_tests_publishes_results_even_on_failure_synthesizes_once_and_publishes_the_assembly():
    steps = steps_of(expanded_stages()[0])
    commands = [step.get("script", "") for step in steps]
    assert any(c.startswith("make test") and "--junitxml" in c for c in commands)
    (publish_results,) = [s for s in steps if s.get("task") == "PublishTestResults@2"]
    assert publish_results["condition"] == "succeededOrFailed()"
    assert commands.count("make synth") == 1
    assert {"publish": "cdk.out", "artifact": "cdk-out", "displayName": "Publish the cloud assembly"} in steps
    tasks = {s.get("task") for s in steps_of_template("pipelines/setup-tools.yml")}
    assert {"UsePythonVersion@0", "UseNode@1", "Cache@2"} <= tasks
    assert PIPELINE["variables"]["PYTHON_VERSION"] == "3.11"  # Glue 5.0's, as awsgluedataplanepython requires
    assert PIPELINE["variables"]["NODE_VERSION"] == "22.x"
    assert PIPELINE["lockBehavior"] == "sequential"


def steps_of_template(path: str) -> list[dict]:
    return yaml.safe_load((PROJECT_ROOT / path).read_text())["steps"]


@pytest.mark.parametrize("environment", ["DEV", "TEST", "PROD"])
def test_each_environment_deploys_the_build_artifact_without_resynthesizing(environment):
    (stage,) = [s for s in expanded_stages() if s["stage"] == environment]
    (job,) = stage["jobs"]
    assert job["environment"] == f"glue-etl-pipeline-{environment}"
    steps = steps_of(stage)
    assert {"download": "current", "artifact": "cdk-out", "displayName": "Download the cloud assembly"} in steps
    (deploy,) = [s for s in steps if s.get("task") == "AWSShellScript@1"]
    command = " ".join(deploy["inputs"]["inlineScript"].split())
    assert command == (
        f'npx --no-install cdk deploy --app "$(Pipeline.Workspace)/cdk-out" GlueEtlPipeline-{environment} --require-approval never'
    )
    assert deploy["inputs"]["awsCredentials"] == f"aws-glue-etl-{environment.lower()}"
    assert "synth" not in scripts(steps) and "make " not in scripts(steps)


def test_the_cli_used_is_the_one_pinned_in_package_json():
    pinned = json.loads((PROJECT_ROOT / "package.json").read_text())["devDependencies"]["aws-cdk"]
    assert PIPELINE["variables"]["CDK_CLI_VERSION"] == pinned
    everything = (PROJECT_ROOT / "azure-pipelines.yml").read_text() + "".join(
        p.read_text() for p in (PROJECT_ROOT / "pipelines").glob("*.yml")
    )
    assert "npm install -g" not in everything and "sudo" not in everything
    assert re.findall(r"npx (?!--no-install)", everything) == []


def test_every_make_target_the_pipeline_calls_exists():
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([A-Za-z][\w-]*):", makefile, re.MULTILINE))
    everything = (PROJECT_ROOT / "azure-pipelines.yml").read_text() + "".join(
        p.read_text() for p in (PROJECT_ROOT / "pipelines").glob("*.yml")
    )
    called = set(re.findall(r"\bmake ([A-Za-z][\w-]*)", everything))
    assert called and called <= targets


# --- Architecture picture ---------------------------------------------------------------------

def test_committed_picture_matches_the_template(dev_template):
    nodes, edges = graph(dev_template.to_json())
    svg = (PROJECT_ROOT / "docs" / "infra.svg").read_text()
    titles = set(re.findall(r'<g id="(?:node|edge)\d+" class="(?:node|edge)">\s*<title>(.*?)</title>', svg))
    drawn = {t.replace("&#45;&gt;", "->") for t in titles}
    expected = set(nodes) | {f"{source}->{target}" for source, target in edges}
    assert drawn == expected, "docs/infra.svg is out of date: run `make diagram` and commit it"


def test_picture_shows_the_whole_flow(dev_template):
    nodes, edges = graph(dev_template.to_json())
    kinds = {label.split("\\n")[0] for label in nodes.values()}
    assert {"EventBridge rule", "Step Functions", "Glue job", "SNS topic", "SQS queue", "S3 bucket", "Lambda"} <= kinds
    assert ("ScheduleRule322D6281", "WorkflowStateMachine8F1B1C15") in edges
    assert ("WorkflowStateMachine8F1B1C15", "EtlJob5EDC7C77") in edges
    assert ("ObjectCreatedStartPipeline725E7641", "WorkflowStateMachine8F1B1C15") in edges
