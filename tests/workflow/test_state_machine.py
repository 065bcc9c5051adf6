"""The real synthesized definition, executed: success, failures with retries, timeouts, notifications."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import datetime, timedelta

import boto3
import pytest
from moto.events.models import EventPattern
from moto.stepfunctions.parser.asl.component.common.retry import jitter_strategy_decl

from glue_etl_pipeline.functions.report_failure import handler as report_failure
from glue_etl_pipeline.workflow import WORKFLOW_ARGUMENT

from tests.helpers import PROJECT_ROOT
from tests.workflow.conftest import JOB_NAME, definition_with_tokens_resolved


def event_types(history) -> list[str]:
    return [event["type"] for event in history]


def states_entered(history) -> list[str]:
    """The states an operator sees an execution pass through in the console's history, in order."""
    return [event["stateEnteredEventDetails"]["name"] for event in history if event["type"].endswith("StateEntered")]


def task_attempts(history) -> int:
    return sum(
        1
        for event in history
        if event["type"] == "TaskScheduled" and event["taskScheduledEventDetails"]["resourceType"] == "glue"
    )


def test_success_runs_the_job_once_and_succeeds(workflow, prod_template):
    result = workflow.run(workflow.create(prod_template))
    assert result["status"] == "SUCCEEDED", event_types(result["history"])
    assert task_attempts(result["history"]) == 1
    assert [run["JobRunState"] for run in workflow.job_runs()] == ["SUCCEEDED"]
    assert workflow.notifications() == []
    assert workflow.waits == []


def test_a_successful_execution_outputs_the_job_run_an_operator_looks_up(workflow, prod_template):
    """The execution's output in the console names the run, its final state and its duration (Glue API, JobRun)."""
    result = workflow.run(workflow.create(prod_template))
    (succeeded,) = [event for event in result["history"] if event["type"] == "ExecutionSucceeded"]
    (run,) = workflow.job_runs()
    assert json.loads(succeeded["executionSucceededEventDetails"]["output"]) == {
        "trigger": "test",
        "glue": {"JobRunId": run["Id"], "JobRunState": "SUCCEEDED", "ExecutionTime": run["ExecutionTime"]},
    }


# A retried state is entered once and its retries run within that entry, as the history records them
# (moto's port of the Step Functions interpreter); so "Attempt" appears once however often it retries.


@pytest.mark.parametrize(
    ("plan", "path"),
    [
        ([], ["Started for a window?", "Attempt", "Run Glue job", "Run stopped?", "Run finished", "Pipeline succeeded"]),
        (["FAILED"] * 4, ["Started for a window?", "Attempt", *["Run Glue job", "Classify failure", "Job run failed"] * 4,
                          "Notify failure", "Pipeline failed"]),
        ([("FAILED", "GlueEtlDataQualityFailed: travel.complaints: rule failed")],
         ["Started for a window?", "Attempt", "Run Glue job", "Classify failure", "Data quality failed", "Notify failure", "Pipeline failed"]),
        (["STOPPED"], ["Started for a window?", "Attempt", "Run Glue job", "Run stopped?", "Stopped run", "Notify failure", "Pipeline failed"]),
    ],
    ids=["succeeded", "failed-every-time", "data-quality", "stopped"],
)
def test_the_execution_history_names_each_step_an_operator_follows(workflow, prod_template, plan, path):
    workflow.plan.extend(plan)
    result = workflow.run(workflow.create(prod_template))
    assert states_entered(result["history"]) == path


def test_success_message_when_enabled(workflow, dev_template):
    result = workflow.run(workflow.create(dev_template))
    assert result["status"] == "SUCCEEDED"
    (notice,) = workflow.notifications()
    assert notice["subject"] == "[DEV] Glue ETL pipeline succeeded"
    assert notice["message"].startswith("The Glue ETL pipeline succeeded in environment DEV.")
    assert "Job run: jr_" in notice["message"]


def test_a_job_failing_every_time_is_tried_four_times_then_notified_once_and_fails(workflow, prod_template, monkeypatch):
    draws = []

    class RecordedRandom:
        @staticmethod
        def uniform(low, high):
            draws.append((low, high))
            return high / 4

    monkeypatch.setattr(jitter_strategy_decl, "random", RecordedRandom)
    workflow.plan.extend(["FAILED"] * 4)
    result = workflow.run(workflow.create(prod_template))
    assert result["status"] == "FAILED"
    assert task_attempts(result["history"]) == 4
    assert [run["JobRunState"] for run in workflow.job_runs()] == ["FAILED"] * 4
    # Ceilings of 10 s, 20 s and 40 s (backoff 2); full jitter draws each wait between zero and its ceiling.
    assert draws == [(0, 10), (0, 20), (0, 40)]
    assert workflow.waits == [2.5, 5, 10]
    (notice,) = workflow.notifications()
    assert notice["subject"] == "[PROD] Glue ETL pipeline failed"
    message = notice["message"]
    assert message.startswith("The Glue ETL pipeline failed in environment PROD.")
    assert f"Execution: {result['arn']}" in message
    assert "Error: GlueJobRunFailed" in message
    assert JOB_NAME in message and '"JobRunState":"FAILED"' in message.replace(" ", "")
    failed = [event for event in result["history"] if event["type"] == "ExecutionFailed"]
    assert failed[0]["executionFailedEventDetails"]["error"] == "GlueEtlPipelineFailed"
    assert '"JobRunState":"FAILED"' in failed[0]["executionFailedEventDetails"]["cause"].replace(" ", "")


def test_a_job_failing_once_succeeds_after_one_retry_without_a_failure_message(workflow, prod_template):
    workflow.plan.extend(["FAILED", "SUCCEEDED"])
    result = workflow.run(workflow.create(prod_template))
    assert result["status"] == "SUCCEEDED"
    assert task_attempts(result["history"]) == 2
    assert len(workflow.waits) == 1 and 0 <= workflow.waits[0] <= 10
    assert workflow.notifications() == []


def test_a_job_exceeding_its_timeout_fails_and_notifies(workflow, prod_template):
    workflow.plan.extend(["TIMEOUT"] * 4)
    result = workflow.run(workflow.create(prod_template))
    assert result["status"] == "FAILED"
    assert [run["JobRunState"] for run in workflow.job_runs()] == ["TIMEOUT"] * 4
    (notice,) = workflow.notifications()
    assert '"JobRunState":"TIMEOUT"' in notice["message"].replace(" ", "")


def test_the_retry_policy_in_the_definition(prod_template):
    definition = json.loads(
        definition_with_tokens_resolved(
            prod_template, {"AWS::Partition": "aws", "EtlJob5EDC7C77": JOB_NAME, "AlertsTopicCF7C81C9": "arn:aws:sns:us-east-1:123456789012:t"}
        )
    )
    no_retry, retry = definition["States"]["Attempt"]["Retry"]
    assert no_retry == {"ErrorEquals": ["DataQualityFailed", "GlueJobRunStopped"], "MaxAttempts": 0}
    assert retry == {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 10, "MaxAttempts": 3, "BackoffRate": 2, "JitterStrategy": "FULL"}
    assert "Retry" not in definition["States"]["Attempt"]["Branches"][0]["States"]["Run Glue job"]


@pytest.mark.skipif(shutil.which("npx") is None, reason="asl-validator is installed by make test")
@pytest.mark.parametrize("environment", ["DEV", "TEST", "PROD"])
def test_definition_passes_asl_validator(templates, environment, tmp_path):
    definition = definition_with_tokens_resolved(
        templates[environment],
        {"AWS::Partition": "aws", "EtlJob5EDC7C77": JOB_NAME, "AlertsTopicCF7C81C9": "arn:aws:sns:us-east-1:123456789012:alerts"},
    )
    path = tmp_path / "definition.json"
    path.write_text(definition)
    result = subprocess.run(
        ["npx", "--no-install", "asl-validator", "--json-path", str(path)], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_data_quality_failure_is_not_retried_and_notified_once(workflow, prod_template):
    verdict = "GlueEtlDataQualityFailed: travel.complaints: data quality rule failed: RowCount > 0"
    workflow.plan.append(("FAILED", verdict))
    result = workflow.run(workflow.create(prod_template))
    assert result["status"] == "FAILED"
    assert task_attempts(result["history"]) == 1
    assert workflow.waits == []
    (notice,) = workflow.notifications()
    assert "Error: DataQualityFailed" in notice["message"] and verdict in notice["message"]
    failed = [event for event in result["history"] if event["type"] == "ExecutionFailed"]
    assert failed[0]["executionFailedEventDetails"]["error"] == "GlueEtlPipelineFailed"


def test_any_other_script_failure_is_retried(workflow, prod_template):
    workflow.plan.extend([("FAILED", "Py4JJavaError: An error occurred while calling o123.parquet"), "SUCCEEDED"])
    result = workflow.run(workflow.create(prod_template))
    assert result["status"] == "SUCCEEDED"
    assert task_attempts(result["history"]) == 2
    assert len(workflow.waits) == 1 and 0 <= workflow.waits[0] <= 10
    assert workflow.notifications() == []


def test_a_window_execution_waits_for_its_window_to_close_then_runs_once(workflow, test_template):
    window_end = datetime.now() + timedelta(minutes=4)
    execution_input = {"trigger": "s3", "window": {"start": "2026-11-21T10:20:00Z", "end": f"{window_end:%Y-%m-%dT%H:%M:%SZ}"}}
    result = workflow.run(workflow.create(test_template), execution_input=execution_input)
    assert result["status"] == "SUCCEEDED", event_types(result["history"])
    (waited,) = workflow.window_waits
    assert 200 <= waited <= 240  # until the window's end, not a fixed delay
    types = event_types(result["history"])
    assert types.index("WaitStateEntered") < types.index("WaitStateExited") < types.index("ParallelStateEntered")
    assert states_entered(result["history"])[:3] == ["Started for a window?", "Wait for the window to close", "Attempt"]
    assert task_attempts(result["history"]) == 1


def test_scheduled_and_catch_up_runs_start_at_once(workflow, test_template):
    result = workflow.run(workflow.create(test_template), execution_input={"trigger": "catch-up"})
    assert result["status"] == "SUCCEEDED"
    assert workflow.window_waits == [] and "WaitStateEntered" not in event_types(result["history"])


def test_a_success_notice_that_cannot_be_sent_does_not_fail_a_successful_run(workflow, dev_template):
    """The job's work is done and committed; a topic that refuses the notice is recorded, not fatal."""
    workflow.topic_arn = workflow.topic_arn.rsplit(":", 1)[0] + ":deleted-topic"
    result = workflow.run(workflow.create(dev_template))
    assert result["status"] == "SUCCEEDED", event_types(result["history"])
    assert "TaskFailed" in event_types(result["history"])
    (succeeded,) = [e for e in result["history"] if e["type"] == "ExecutionSucceeded"]
    output = json.loads(succeeded["executionSucceededEventDetails"]["output"])
    assert "notificationError" in output and output["glue"]["JobRunState"] == "SUCCEEDED"


# --- One incident, one message -------------------------------------------------------------------

def reported_by_the_failure_function(workflow, template, result, monkeypatch) -> None:
    """Deliver the events AWS would send for this execution's end and its Glue runs' ends to the
    report-failure function, through the synthesized rules' patterns (moto's pattern engine)."""
    resources = template.to_json()["Resources"]
    state_machine_arn = workflow.client.describe_execution(executionArn=result["arn"])["stateMachineArn"]

    def rule(name: str) -> EventPattern:
        (raw,) = [
            r["Properties"]["EventPattern"] for i, r in resources.items()
            if r["Type"] == "AWS::Events::Rule" and i.startswith(f"FailureReports{name}")
        ]
        text = json.dumps(raw).replace('{"Ref": "WorkflowStateMachine8F1B1C15"}', json.dumps(state_machine_arn))
        resolved = json.loads(text)
        if "jobName" in resolved["detail"]:
            resolved["detail"]["jobName"] = [JOB_NAME]
        return EventPattern.load(json.dumps(resolved))

    execution = workflow.client.describe_execution(executionArn=result["arn"])
    events = [
        {"source": "aws.states", "detail-type": "Step Functions Execution Status Change", "id": "e-execution",
         "detail": {"executionArn": result["arn"], "stateMachineArn": state_machine_arn, "status": execution["status"]}},
    ] + [
        {"source": "aws.glue", "detail-type": "Glue Job State Change", "id": f"e-{run['Id']}",
         "detail": {"jobName": JOB_NAME, "state": run["JobRunState"], "jobRunId": run["Id"], "message": "failed"}}
        for run in workflow.job_runs()
    ]
    for name, value in {"TOPIC_ARN": workflow.reporter_topic_arn, "ENVIRONMENT": "PROD", "FAILURE_ERROR": "GlueEtlPipelineFailed",
                        "WORKFLOW_ARGUMENT": WORKFLOW_ARGUMENT}.items():
        monkeypatch.setenv(name, value)
    report_failure.client.cache_clear()
    rules = (rule("ExecutionEnded"), rule("JobRunFailed"))
    for event in events:
        if any(pattern.matches_event(event) for pattern in rules):
            report_failure.handler(event, None)
    report_failure.client.cache_clear()


@pytest.mark.parametrize(
    "plan",
    [["FAILED"] * 4, ["TIMEOUT"] * 4, ["ERROR"] * 4, [("FAILED", "GlueEtlDataQualityFailed: travel.complaints: rule failed")]],
    ids=["failed", "timed-out", "errored", "data-quality"],
)
def test_a_failed_execution_sends_exactly_one_message_with_its_cause(workflow, prod_template, plan, monkeypatch):
    workflow.plan.extend(plan)
    result = workflow.run(workflow.create(prod_template))
    assert result["status"] == "FAILED"
    workflow.reporter_topic_arn = workflow.topic_arn
    reported_by_the_failure_function(workflow, prod_template, result, monkeypatch)
    (notice,) = workflow.notifications()
    assert notice["subject"] == "[PROD] Glue ETL pipeline failed" and "Cause: " in notice["message"]


def test_an_execution_whose_own_notice_fails_is_reported_once_by_the_function(workflow, prod_template, monkeypatch):
    reporter_topic = workflow.topic_arn
    workflow.topic_arn = workflow.topic_arn.rsplit(":", 1)[0] + ":deleted-topic"
    workflow.plan.extend(["FAILED"] * 4)
    result = workflow.run(workflow.create(prod_template))
    assert result["status"] == "FAILED"
    workflow.topic_arn = workflow.reporter_topic_arn = reporter_topic
    reported_by_the_failure_function(workflow, prod_template, result, monkeypatch)
    (notice,) = workflow.notifications()
    assert notice["subject"] == "[PROD] Glue ETL pipeline execution failed"
    assert f"Execution: {result['arn']}" in notice["message"]


def test_a_run_started_by_hand_outside_the_workflow_is_reported_once(workflow, prod_template, monkeypatch):
    workflow.plan.append("FAILED")
    glue = boto3.client("glue", region_name="us-east-1")
    run_id = glue.start_job_run(JobName=JOB_NAME)["JobRunId"]
    while glue.get_job_run(JobName=JOB_NAME, RunId=run_id)["JobRun"]["JobRunState"] in ("STARTING", "RUNNING"):
        pass
    workflow.reporter_topic_arn = workflow.topic_arn
    result = workflow.run(workflow.create(prod_template))  # a later scheduled execution that succeeds
    assert result["status"] == "SUCCEEDED"
    reported_by_the_failure_function(workflow, prod_template, result, monkeypatch)
    (notice,) = workflow.notifications()
    assert notice["subject"] == "[PROD] Glue job run outside the workflow failed" and run_id in notice["message"]


def test_a_run_stopped_by_hand_is_not_retried_and_reported_once(workflow, prod_template):
    workflow.plan.extend(["STOPPED"] * 4)
    result = workflow.run(workflow.create(prod_template))
    assert result["status"] == "FAILED"
    assert task_attempts(result["history"]) == 1 and workflow.waits == []
    (notice,) = workflow.notifications()
    assert "Error: GlueJobRunStopped" in notice["message"]
    (run,) = workflow.job_runs()
    assert notice["message"].endswith(f"\nCause: Job run {run['Id']} was stopped")


@pytest.mark.parametrize(
    ("cause", "error"),
    [
        ('{"JobRunState": "STOPPED", "Id": "jr_1"}', "GlueJobRunStopped"),
        ('{"JobRunState":"STOPPED","Id":"jr_1"}', "GlueJobRunStopped"),
        ('{"JobRunState": "FAILED", "ErrorMessage": "GlueEtlDataQualityFailed: x"}', "DataQualityFailed"),
        ('{"JobRunState": "FAILED", "Id": "jr_1"}', "GlueJobRunFailed"),
    ],
)
def test_a_failed_task_is_classified_by_its_cause(workflow, prod_template, cause, error):
    """The synthesized Classify failure state and its Fail states, run on their own in moto."""
    definition = json.loads(
        definition_with_tokens_resolved(
            prod_template, {"AWS::Partition": "aws", "EtlJob5EDC7C77": JOB_NAME, "AlertsTopicCF7C81C9": workflow.topic_arn}
        )
    )
    branch = definition["States"]["Attempt"]["Branches"][0]["States"]
    classify = branch["Classify failure"]
    targets = {choice["Next"] for choice in classify["Choices"]} | {classify["Default"]}
    states = {"Classify failure": classify, **{name: branch[name] for name in targets}}
    arn = workflow.client.create_state_machine(
        name="classify", definition=json.dumps({"StartAt": "Classify failure", "States": states}),
        roleArn="arn:aws:iam::123456789012:role/sm",
    )["stateMachineArn"]
    result = workflow.run(arn, execution_input={"error": {"Error": "States.TaskFailed", "Cause": cause}})
    (failed,) = [event for event in result["history"] if event["type"] == "ExecutionFailed"]
    assert failed["executionFailedEventDetails"]["error"] == error
