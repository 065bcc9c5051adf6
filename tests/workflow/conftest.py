"""The synthesized state machine, executed in moto's Step Functions alongside moto's Glue and SNS.

moto 5.2.5 needs two workarounds, both kept here:
- its Glue `.sync` integration calls `interrupt_all()` on a callback endpoint that only exists when
  the service also lists waitForTaskToken, so every run would fail with "'NoneType' object has no
  attribute 'interrupt_all'": the Glue service's integration patterns are set to include it, and
  its sync polling is told to ignore that endpoint (else a retried task reuses the interrupted
  endpoint of the previous attempt and times out at once);
- its Glue job runs always end SUCCEEDED: each new run takes its final state from `plan`.
Retry waits and Wait states are recorded instead of slept, so the intervals stay assertable and the tests fast.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.glue.models import FakeJobRun
from moto.moto_api import state_manager
from moto.sns.models import sns_backends
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_glue
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
    StateTaskServiceCallback,
)

from tests.helpers import only_resource

REGION = "us-east-1"
JOB_NAME = "json-to-pq-prod-test"


def definition_with_tokens_resolved(template, names: dict[str, str]) -> str:
    """The DefinitionString of the template's state machine, each Ref replaced by the name given for it."""
    parts = only_resource(template, "AWS::StepFunctions::StateMachine")["Properties"]["DefinitionString"]["Fn::Join"][1]
    resolved = []
    for part in parts:
        if isinstance(part, str):
            resolved.append(part)
        elif "Ref" in part and part["Ref"] in names:
            resolved.append(names[part["Ref"]])
        else:
            raise AssertionError(f"unresolved token in the definition: {part}")
    return "".join(resolved)


@dataclass
class Workflow:
    client: object
    topic_arn: str
    plan: list
    # The topic the report-failure function publishes to (the alerts topic, unless a test breaks the state machine's).
    reporter_topic_arn: str = ""
    waits: list[float] = field(default_factory=list)
    window_waits: list[int] = field(default_factory=list)

    def create(self, template) -> str:
        definition = definition_with_tokens_resolved(
            template,
            {
                "AWS::Partition": "aws",
                "EtlJob5EDC7C77": JOB_NAME,
                "AlertsTopicCF7C81C9": self.topic_arn,
            },
        )
        return self.client.create_state_machine(
            name="glue-etl-pipeline-under-test",
            definition=definition,
            roleArn=f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/state-machine",
        )["stateMachineArn"]

    def run(self, state_machine_arn: str, timeout: float = 30, execution_input: dict | None = None) -> dict:
        execution_arn = self.client.start_execution(
            stateMachineArn=state_machine_arn, input=json.dumps(execution_input or {"trigger": "test"})
        )["executionArn"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.client.list_executions(stateMachineArn=state_machine_arn)["executions"][0]["status"]
            if status != "RUNNING":
                break
            time.sleep(0.05)
        history = self.client.get_execution_history(executionArn=execution_arn)["events"]
        return {"arn": execution_arn, "status": status, "history": history}

    def notifications(self) -> list[dict]:
        topic = sns_backends[DEFAULT_ACCOUNT_ID][REGION].topics[self.topic_arn]
        return [{"subject": sent[2], "message": sent[1]} for sent in topic.sent_notifications]

    def job_runs(self) -> list[dict]:
        return boto3.client("glue", region_name=REGION).get_job_runs(JobName=JOB_NAME)["JobRuns"]


@pytest.fixture
def workflow(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setattr(
        state_task_service_glue,
        "_SUPPORTED_INTEGRATION_PATTERNS",
        {ResourceCondition.Sync, ResourceCondition.WaitForTaskToken},
    )

    def poll_without_callback(self, env, sync_resolver, timeout_seconds, callback_endpoint, heartbeat_endpoint):
        return StateTaskServiceCallback._eval_sync(self, env, sync_resolver, timeout_seconds, None, heartbeat_endpoint)

    monkeypatch.setattr(state_task_service_glue.StateTaskServiceGlue, "_eval_sync", poll_without_callback)
    plan: list[str] = []
    original_init = FakeJobRun.__init__

    original_as_dict = FakeJobRun.as_dict

    def planned_run(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        # A plan entry is a final state, or (state, ErrorMessage) as Glue reports a script's exception.
        final_state, self._error_message = (plan.pop(0) if plan else "SUCCEEDED", None)
        if isinstance(final_state, tuple):
            final_state, self._error_message = final_state
        self._transitions = [("STARTING", "RUNNING"), ("RUNNING", final_state)]

    def with_error_message(self):
        shown = original_as_dict(self)
        if getattr(self, "_error_message", None) and shown["JobRunState"] != "RUNNING":
            shown["ErrorMessage"] = self._error_message
        return shown

    monkeypatch.setattr(FakeJobRun, "__init__", planned_run)
    monkeypatch.setattr(FakeJobRun, "as_dict", with_error_message)
    recorded = Workflow(client=None, topic_arn="", plan=plan)
    monkeypatch.setattr(retrier_decl, "time", type("RecordedTime", (), {"sleep": staticmethod(recorded.waits.append)}))
    # Wait states record how long they would wait instead of waiting.
    monkeypatch.setattr(WaitFunction, "_wait_interval", lambda self, env, wait_seconds: recorded.window_waits.append(wait_seconds))
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        state_manager.set_transition(model_name="glue::job_run", transition={"progression": "immediate"})
        boto3.client("glue", region_name=REGION).create_job(
            Name=JOB_NAME, Role="arn:aws:iam::123456789012:role/glue", Command={"Name": "glueetl", "ScriptLocation": "s3://b/k.py"}
        )
        recorded.topic_arn = boto3.client("sns", region_name=REGION).create_topic(Name="pipeline-alerts")["TopicArn"]
        recorded.client = boto3.client("stepfunctions", region_name=REGION)
        yield recorded
        state_manager.unset_transition(model_name="glue::job_run")
