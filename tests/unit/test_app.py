"""The app entry point: environment selection and how configuration errors reach the user."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys

import pytest
from aws_cdk import Annotations as ConstructAnnotations
from aws_cdk import App
from aws_cdk.assertions import Annotations, Match

from glue_etl_pipeline import main as entry
from tests.helpers import PROJECT_ROOT


def stacks_of(app: App) -> list[str]:
    return [child.node.id for child in app.node.children]


def test_context_selects_one_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("TARGET_ENVIRONMENT", raising=False)
    app = App(outdir=str(tmp_path), context={"env": "TEST"})
    entry.build_app(app, entry.load_config(entry.CONFIG_FILE), entry.selected_environment(app))
    assert stacks_of(app) == ["GlueEtlPipeline-TEST"]


def test_target_environment_variable_selects_when_no_context(monkeypatch, tmp_path):
    monkeypatch.setenv("TARGET_ENVIRONMENT", "PROD")
    assert entry.selected_environment(App(outdir=str(tmp_path / "plain"))) == "PROD"
    assert entry.selected_environment(App(outdir=str(tmp_path / "context"), context={"env": "DEV"})) == "DEV"


def test_no_selection_means_every_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("TARGET_ENVIRONMENT", raising=False)
    assert entry.selected_environment(App(outdir=str(tmp_path))) is None


def test_main_reports_config_error_in_one_line_and_exits_non_zero(tmp_path, monkeypatch, capsys):
    broken = tmp_path / "environment.conf"
    broken.write_text("[DEV]\nglue_db = travel\n")
    monkeypatch.setattr(entry, "CONFIG_FILE", broken)
    monkeypatch.delenv("TARGET_ENVIRONMENT", raising=False)
    with pytest.raises(SystemExit) as exited:
        entry.main()
    assert exited.value.code == 1
    assert capsys.readouterr().err == "error: environment.conf [DEV] table_name: required key is missing\n"


@pytest.mark.skipif(shutil.which("npx") is None, reason="the CDK CLI is installed by make test")
def test_cdk_synth_with_broken_config_prints_one_line_without_traceback(tmp_path):
    for name in ("app.py", "cdk.json", "glue_etl_pipeline", "gluescripts"):
        source = PROJECT_ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    for name in (".venv", "node_modules"):
        (tmp_path / name).symlink_to(PROJECT_ROOT / name)
    (tmp_path / "environment.conf").write_text(
        (PROJECT_ROOT / "environment.conf").read_text().replace("number_of_workers = 4", "number_of_workers = four")
    )
    result = subprocess.run(
        ["npx", "cdk", "synth", "--quiet"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"},
        timeout=120,
    )
    assert result.returncode != 0
    assert "error: environment.conf [PROD] number_of_workers = 'four': expected a whole number from 2 to 1000" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_plain_python_app_synthesizes_every_environment_without_the_cli(tmp_path, templates):
    """No cdk.json feature flags reach a plain `python app.py`: the stacks must not depend on them."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CDK_")}
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=PROJECT_ROOT, capture_output=True, text=True,
        env={**environment, "CDK_OUTDIR": str(tmp_path)}, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for name, template in templates.items():
        plain = json.loads((tmp_path / f"GlueEtlPipeline-{name}.template.json").read_text())["Resources"]
        with_flags = template.to_json()["Resources"]
        assert {k: v["Type"] for k, v in plain.items()} == {k: v["Type"] for k, v in with_flags.items()}


def app_with_project_context(outdir) -> App:
    """An app as `cdk synth` builds it, writing under `outdir` (else CDK leaves a folder in the system's temp)."""
    return App(outdir=str(outdir), context=json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"])


def synth_warnings(config, name: str, outdir) -> list[str]:
    app = app_with_project_context(outdir)
    (stack,) = entry.build_app(app, config, name)
    return [m.entry.data for m in Annotations.from_stack(stack).find_warning("*", Match.any_value())]


def test_alerts_that_reach_nobody_are_the_only_warning_one_line_naming_the_environment(project_config, tmp_path):
    (warning,) = synth_warnings(project_config, "PROD", tmp_path)
    assert warning.startswith(
        "[PROD] notifications go to a new topic without subscribers; set notification_email or topic_arn"
    )
    assert "\n" not in warning.split(" [ack:")[0]


def test_a_team_without_subscribers_can_acknowledge_the_warning_by_the_id_synth_prints(project_config, tmp_path):
    """`cdk synth` prints 'Acknowledge with Annotation::glue-etl-pipeline:alerts-reach-nobody': a team
    that keeps a sandbox without subscribers acknowledges it in its app by that id, so the id stays."""
    assert len(synth_warnings(project_config, "PROD", tmp_path / "warned")) == 1
    app = app_with_project_context(tmp_path / "acknowledged")
    (stack,) = entry.build_app(app, project_config, "PROD")
    ConstructAnnotations.of(stack.node.find_child("Alerts")).acknowledge_warning("glue-etl-pipeline:alerts-reach-nobody")
    assert Annotations.from_stack(stack).find_warning("*", Match.any_value()) == []


def test_a_fully_configured_environment_synthesizes_without_warnings(project_config, tmp_path):
    """CDK warns about settings it overrides or ignores (a Glue job's own retries next to run queuing,
    for one), so a clean synth shows every construct gets what it was given."""
    for name in project_config.names:
        env = dataclasses.replace(project_config.select(name)[0], notification_email="data-team@example.com")
        configured = dataclasses.replace(project_config, environments=(env,))
        assert synth_warnings(configured, name, tmp_path / name) == [], name
