"""One message per incident: the report-failure Lambda against moto (Step Functions, Glue, SNS), and the
rules that feed it, matched by moto's EventBridge pattern engine against the events AWS documents."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.events.models import EventPattern
from moto.sns.models import sns_backends

from glue_etl_pipeline.functions.report_failure import handler as report_failure
from glue_etl_pipeline.workflow import FAILURE_ERROR, WORKFLOW_ARGUMENT
from tests.helpers import resource_named
from tests.workflow.conftest import definition_with_tokens_resolved

REGION = "eu-west-1"
JOB_NAME = "json-to-pq-prod-123456789012-eu-west-1"
# The failure notice itself fails: its topic does not exist.
NOTICE_FAILS = {
    "StartAt": "Notify failure",
    "States": {
        "Notify failure": {
            "Type": "Task", "Resource": "arn:aws:states:::sns:publish", "End": True,
            "Parameters": {"TopicArn": f"arn:aws:sns:{REGION}:123456789012:deleted-topic", "Message": "failed"},
        }
    },
}


@pytest.fixture
def aws(monkeypatch):
    for name, value in {"AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        topic_arn = boto3.client("sns").create_topic(Name="pipeline-alerts")["TopicArn"]
        boto3.client("glue").create_job(
            Name=JOB_NAME, Role="arn:aws:iam::123456789012:role/glue", Command={"Name": "glueetl", "ScriptLocation": "s3://b/k.py"}
        )
        for name, value in {
            "TOPIC_ARN": topic_arn, "ENVIRONMENT": "PROD", "FAILURE_ERROR": FAILURE_ERROR, "WORKFLOW_ARGUMENT": WORKFLOW_ARGUMENT,
        }.items():
            monkeypatch.setenv(name, value)
        report_failure.client.cache_clear()
        yield topic_arn
        report_failure.client.cache_clear()


def sent(topic_arn: str) -> list[tuple[str, str]]:
    """(subject, message) of every message published to the topic."""
    topic = sns_backends[DEFAULT_ACCOUNT_ID][REGION].topics[topic_arn]
    return [(notification[2], notification[1]) for notification in topic.sent_notifications]


def ended_execution(definition: dict, stop: bool = False) -> dict:
    """An execution of `definition` run by moto's Step Functions interpreter (or stopped), as DescribeExecution shows it at its end."""
    client = boto3.client("stepfunctions")
    machine = client.create_state_machine(
        name="glue-etl-pipeline-prod", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/sm"
    )["stateMachineArn"]
    arn = client.start_execution(stateMachineArn=machine)["executionArn"]
    deadline = time.monotonic() + 20
    if stop:
        # Stopped before moto's interpreter has entered the first state, the execution would be set
        # running again by it: stop it where an operator would, in the middle of a state.
        while not entered_a_state(client, arn) and time.monotonic() < deadline:
            time.sleep(0.05)
        client.stop_execution(executionArn=arn, error="Operator", cause="stopped by hand")
    while client.describe_execution(executionArn=arn)["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.05)
    return client.describe_execution(executionArn=arn)


def entered_a_state(client, execution_arn: str) -> bool:
    events = client.get_execution_history(executionArn=execution_arn)["events"]
    return any(event["type"].endswith("StateEntered") for event in events)


def status_change(execution: dict, status: str | None = None) -> dict:
    """The "Step Functions Execution Status Change" event of the execution, shaped as the Developer Guide's examples."""
    return {
        "version": "0", "id": "e-1", "source": "aws.states", "detail-type": "Step Functions Execution Status Change",
        "account": "123456789012", "region": REGION, "resources": [execution["executionArn"]],
        "detail": {
            "executionArn": execution["executionArn"], "stateMachineArn": execution["stateMachineArn"], "name": execution["executionArn"].rsplit(":", 1)[1],
            "status": status or execution["status"], "startDate": 1764600000000, "stopDate": 1764600060000,
            "input": "{}", "output": None,
        },
    }


def job_state_change(run_id: str, state: str = "FAILED") -> dict:
    """A "Glue Job State Change" event, shaped as the Glue Developer Guide's example."""
    return {
        "version": "0", "id": "e-2", "source": "aws.glue", "detail-type": "Glue Job State Change",
        "account": "123456789012", "region": REGION, "resources": [],
        "detail": {"jobName": JOB_NAME, "severity": "ERROR", "state": state, "jobRunId": run_id, "message": "Command failed with exit code 1"},
    }


def test_an_execution_that_failed_before_its_notice_is_reported_with_its_cause(aws):
    execution = ended_execution(NOTICE_FAILS)
    assert execution["status"] == "FAILED" and execution["error"] != FAILURE_ERROR
    assert report_failure.handler(status_change(execution), None)["status"] == "published"
    ((subject, message),) = sent(aws)
    assert subject == "[PROD] Glue ETL pipeline execution failed"
    assert "failed before its own failure message was sent in environment PROD" in message
    assert f"Execution: {execution['executionArn']}" in message
    assert f"Error: {execution['error']}" in message and f"Cause: {execution['cause']}" in message


def test_an_execution_that_sent_its_own_failure_message_is_not_reported_again(aws):
    execution = ended_execution({"StartAt": "Fail", "States": {"Fail": {"Type": "Fail", "Error": FAILURE_ERROR, "Cause": "job failed"}}})
    assert report_failure.handler(status_change(execution), None) == {"status": "reported-elsewhere"}
    assert sent(aws) == []


WAITING = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 30, "End": True}}}


def test_a_timed_out_execution_is_reported(aws):
    execution = ended_execution({**WAITING, "TimeoutSeconds": 1})
    assert execution["status"] == "TIMED_OUT"
    report_failure.handler(status_change(execution), None)
    ((subject, message),) = sent(aws)
    assert subject == "[PROD] Glue ETL pipeline execution timed out"
    assert "Status: TIMED_OUT" in message and f"Execution: {execution['executionArn']}" in message


def test_a_stopped_execution_is_reported(aws):
    execution = ended_execution(WAITING, stop=True)
    assert execution["status"] == "ABORTED"
    report_failure.handler(status_change(execution), None)
    ((subject, message),) = sent(aws)
    assert subject == "[PROD] Glue ETL pipeline execution aborted"
    assert "Status: ABORTED" in message and f"Execution: {execution['executionArn']}" in message


def test_a_failed_run_started_outside_the_workflow_is_reported_with_its_error(aws):
    run_id = boto3.client("glue").start_job_run(JobName=JOB_NAME)["JobRunId"]
    assert report_failure.handler(job_state_change(run_id), None)["status"] == "published"
    ((subject, message),) = sent(aws)
    assert subject == "[PROD] Glue job run outside the workflow failed"
    assert f"Job run: {run_id}" in message and "Error: Command failed with exit code 1" in message


def test_a_failed_run_of_the_workflow_is_left_to_its_execution(aws):
    run_id = boto3.client("glue").start_job_run(
        JobName=JOB_NAME, Arguments={WORKFLOW_ARGUMENT: "arn:aws:states:eu-west-1:123456789012:execution:glue-etl-pipeline-prod:x"}
    )["JobRunId"]
    assert report_failure.handler(job_state_change(run_id), None) == {"status": "reported-elsewhere"}
    assert sent(aws) == []


def test_an_event_of_another_kind_fails_the_invocation_into_the_dead_letter_queue(aws):
    with pytest.raises(ValueError, match="not an event this function reports"):
        report_failure.handler({"source": "aws.s3", "detail-type": "Object Created", "detail": {}}, None)


# --- The rules, as synthesized ------------------------------------------------------------------

def pattern(template, rule: str) -> EventPattern:
    raw = resource_named(template, "AWS::Events::Rule", f"FailureReports{rule}")["Properties"]["EventPattern"]
    resolved = json.loads(json.dumps(raw).replace('{"Ref": "WorkflowStateMachine8F1B1C15"}', '"arn:aws:states:eu-west-1:123456789012:stateMachine:glue-etl-pipeline-prod"'))
    if "jobName" in resolved["detail"]:
        resolved["detail"]["jobName"] = [JOB_NAME]
    return EventPattern.load(json.dumps(resolved))


EXECUTION = {
    "executionArn": "arn:aws:states:eu-west-1:123456789012:execution:glue-etl-pipeline-prod:x",
    "stateMachineArn": "arn:aws:states:eu-west-1:123456789012:stateMachine:glue-etl-pipeline-prod",
    "name": "x", "status": "RUNNING",
}


@pytest.mark.parametrize(
    ("status", "matched"),
    [("FAILED", True), ("TIMED_OUT", True), ("ABORTED", True), ("SUCCEEDED", False), ("RUNNING", False)],
)
def test_every_unsuccessful_end_of_this_state_machine_reaches_the_function(prod_template, status, matched):
    rule = pattern(prod_template, "ExecutionEnded")
    assert rule.matches_event(status_change(EXECUTION, status)) is matched
    another = {**EXECUTION, "stateMachineArn": EXECUTION["stateMachineArn"] + "-other"}
    assert rule.matches_event(status_change(another, status)) is False


@pytest.mark.parametrize(("state", "matched"), [("FAILED", True), ("TIMEOUT", True), ("ERROR", True), ("STOPPED", False), ("SUCCEEDED", False)])
def test_failed_runs_of_this_job_reach_the_function(prod_template, state, matched):
    rule = pattern(prod_template, "JobRunFailed")
    assert rule.matches_event(job_state_change("jr_1", state)) is matched
    other = job_state_change("jr_1", state)
    other["detail"]["jobName"] = "another-job"
    assert rule.matches_event(other) is False


def test_both_rules_deliver_to_the_function_with_retries_and_a_dead_letter_queue(templates):
    """And the function is configured as its handler reads it: its notices name their environment."""
    for name, template in templates.items():
        (queue_id,) = [i for i in template.find_resources("AWS::SQS::Queue") if i.startswith("FailureReportsDeadLetterQueue")]
        for rule in ("ExecutionEnded", "JobRunFailed"):
            (target,) = resource_named(template, "AWS::Events::Rule", f"FailureReports{rule}")["Properties"]["Targets"]
            assert target["Arn"] == {"Fn::GetAtt": ["FailureReportsReportFailure8D9344F2", "Arn"]}
            assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 10}
            assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}
        function = resource_named(template, "AWS::Lambda::Function", "FailureReportsReportFailure")["Properties"]
        variables = function["Environment"]["Variables"]
        assert (variables["FAILURE_ERROR"], variables["WORKFLOW_ARGUMENT"]) == (FAILURE_ERROR, WORKFLOW_ARGUMENT)
        assert variables["TOPIC_ARN"] == {"Ref": "AlertsTopicCF7C81C9"}
        assert report_failure.Settings.from_environment(variables).environment == name


def test_the_workflow_marks_every_run_it_starts(prod_template):
    definition = json.loads(
        definition_with_tokens_resolved(
            prod_template, {"AWS::Partition": "aws", "EtlJob5EDC7C77": JOB_NAME, "AlertsTopicCF7C81C9": "arn:aws:sns:eu-west-1:123456789012:t"}
        )
    )
    run_job = definition["States"]["Attempt"]["Branches"][0]["States"]["Run Glue job"]
    assert run_job["Parameters"]["Arguments"] == {f"{WORKFLOW_ARGUMENT}.$": "$$.Execution.Id"}


@pytest.mark.parametrize(
    ("rule", "event"),
    [("ExecutionEnded", lambda: status_change(EXECUTION, "FAILED")), ("JobRunFailed", lambda: job_state_change("jr_1", "FAILED"))],
)
def test_an_event_of_another_source_or_kind_with_the_same_detail_does_not_reach_the_function(prod_template, rule, event):
    """Any service, or a custom event put on the default bus, can carry the same detail: only AWS's own
    status-change events of Step Functions and Glue may report a failure."""
    matcher = pattern(prod_template, rule)
    assert matcher.matches_event(event()) is True
    assert matcher.matches_event({**event(), "source": "my.application"}) is False
    assert matcher.matches_event({**event(), "detail-type": "Some Other Change"}) is False
