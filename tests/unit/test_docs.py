"""The README and the runbook say what the synthesized templates do: the time budget and the ruleset's name."""

from __future__ import annotations

import json
import re

import pytest

from tests.helpers import PROJECT_ROOT, only_resource

README = (PROJECT_ROOT / "README.md").read_text()
RUNBOOK = (PROJECT_ROOT / "docs" / "runbook.md").read_text()


@pytest.mark.parametrize("environment", ["DEV", "TEST", "PROD"])
def test_the_docs_give_each_environments_time_budget(templates, environment):
    definition = json.dumps(only_resource(templates[environment], "AWS::StepFunctions::StateMachine")["Properties"]["DefinitionString"])
    budget_minutes = max(int(seconds) for seconds in re.findall(r'TimeoutSeconds\\":(\d+)', definition)) // 60
    assert f"{budget_minutes} minutes" in README or f"{budget_minutes} for {environment}" in README
    assert str(budget_minutes) in RUNBOOK


def test_no_doc_promises_a_timeout_the_templates_do_not_have():
    for text in (README, RUNBOOK):
        assert not re.search(r"\b2 h(ours)?\b", text)


def test_the_runbook_names_the_ruleset_as_the_stack_does(templates):
    name = json.dumps(only_resource(templates["PROD"], "AWS::Glue::DataQualityRuleset")["Properties"]["Name"])
    assert re.search(r"-ruleset-[0-9a-f]{8}", name)
    assert "-ruleset-<digest>`" in RUNBOOK
