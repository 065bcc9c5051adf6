"""Lambda: publish the one message for a failure the state machine cannot report itself, with its cause.

The state machine publishes a detailed message for every failure of a run it catches, and then
fails with FAILURE_ERROR. Two kinds of events reach this function, and it decides for each:
- "Step Functions Execution Status Change" of the pipeline's state machine, FAILED, TIMED_OUT or
  ABORTED. The event's detail is documented as DescribeExecution's information, but its published
  examples show no error or cause, so both are read with DescribeExecution. A FAILED execution
  whose error is FAILURE_ERROR has sent its own message: nothing is published. Any other end (its
  notification failed, it timed out, someone stopped it) is published.
- "Glue Job State Change" of the pipeline's job, FAILED, TIMEOUT or ERROR. The workflow starts every
  run it owns with the WORKFLOW_ARGUMENT job argument (its execution), which GetJobRun returns with
  the run; such a run is reported by its execution. A run without it was started outside the
  workflow (console, CLI, API) and is published with the run's error message.

Errors propagate, so Lambda's retries and dead-letter queue (alarmed) apply.

Environment: TOPIC_ARN, ENVIRONMENT, FAILURE_ERROR, WORKFLOW_ARGUMENT.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass

import boto3

LOG = logging.getLogger("report_failure")
LOG.setLevel(logging.INFO)

_EXECUTION_ENDS = {
    "FAILED": "failed before its own failure message was sent",
    "TIMED_OUT": "timed out",
    "ABORTED": "was stopped",
}


@dataclass(frozen=True)
class Settings:
    topic_arn: str
    environment: str
    failure_error: str
    workflow_argument: str

    @classmethod
    def from_environment(cls, environ) -> "Settings":
        return cls(environ["TOPIC_ARN"], environ["ENVIRONMENT"], environ["FAILURE_ERROR"], environ["WORKFLOW_ARGUMENT"])


@dataclass(frozen=True)
class Notice:
    subject: str
    message: str


def execution_notice(execution: dict, settings: Settings) -> Notice | None:
    """The message for an ended execution (as DescribeExecution returns it), or None when the state machine sent its own."""
    status = execution.get("status")
    if status not in _EXECUTION_ENDS or (status == "FAILED" and execution.get("error") == settings.failure_error):
        LOG.info("not reported here", extra={"executionArn": execution.get("executionArn"), "executionStatus": status})
        return None
    lines = [
        f"The Glue ETL pipeline's execution {_EXECUTION_ENDS[status]} in environment {settings.environment}.",
        "",
        f"State machine: {execution.get('stateMachineArn')}",
        f"Execution: {execution.get('executionArn')}",
        f"Status: {status}",
        f"Started: {execution.get('startDate') or '-'}",
        f"Error: {execution.get('error') or '-'}",
        f"Cause: {execution.get('cause') or '-'}",
    ]
    return Notice(f"[{settings.environment}] Glue ETL pipeline execution {status.lower().replace('_', ' ')}", "\n".join(lines))


def job_run_notice(detail: dict, job_run: dict, settings: Settings) -> Notice | None:
    """The message for a failed Glue run, or None when the workflow started it (its execution reports it)."""
    started_by = (job_run.get("Arguments") or {}).get(settings.workflow_argument)
    if started_by:
        LOG.info("the workflow's own run: its execution reports it", extra={"jobRunId": job_run.get("Id"), "execution": started_by})
        return None
    lines = [
        f"A Glue job run started outside the workflow ended {detail.get('state')} in environment {settings.environment}.",
        "",
        f"Job: {detail.get('jobName')}",
        f"Job run: {detail.get('jobRunId')}",
        f"State: {detail.get('state')}",
        f"Error: {job_run.get('ErrorMessage') or detail.get('message') or '-'}",
        f"Started on: {job_run.get('StartedOn') or '-'}",
    ]
    return Notice(f"[{settings.environment}] Glue job run outside the workflow {str(detail.get('state')).lower()}", "\n".join(lines))


@functools.cache
def client(service: str):
    """One client per service and container: created on first use, reused by every later invocation."""
    return boto3.client(service)


def notice_for(event: dict, settings: Settings) -> Notice | None:
    detail = event.get("detail") or {}
    if event.get("source") == "aws.states":
        return execution_notice(client("stepfunctions").describe_execution(executionArn=detail["executionArn"]), settings)
    if event.get("source") == "aws.glue":
        job_run = client("glue").get_job_run(JobName=detail["jobName"], RunId=detail["jobRunId"])["JobRun"]
        return job_run_notice(detail, job_run, settings)
    raise ValueError(f"not an event this function reports: {event.get('source')!r} / {event.get('detail-type')!r}")


def handler(event: dict, context) -> dict:
    settings = Settings.from_environment(os.environ)
    notice = notice_for(event, settings)
    if notice is None:
        return {"status": "reported-elsewhere"}
    published = client("sns").publish(TopicArn=settings.topic_arn, Subject=notice.subject, Message=notice.message)
    LOG.info("published", extra={"eventId": event.get("id"), "subject": notice.subject, "messageId": published["MessageId"]})
    return {"status": "published", "messageId": published["MessageId"]}
