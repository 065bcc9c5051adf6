"""The start-pipeline Lambda against moto's Step Functions (real boto3 calls, no AWS account)."""

from __future__ import annotations

import copy
import json
import logging

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from glue_etl_pipeline.functions.start_pipeline import handler as start_pipeline
from tests.helpers import PROJECT_ROOT

SAMPLE_EVENT = json.loads((PROJECT_ROOT / "tests" / "fixtures" / "s3_object_created.json").read_text())


@pytest.fixture
def state_machine(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("stepfunctions")
        arn = client.create_state_machine(
            name="glue-etl-pipeline-test",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn="arn:aws:iam::123456789012:role/pipeline",
        )["stateMachineArn"]
        monkeypatch.setenv("STATE_MACHINE_ARN", arn)
        monkeypatch.setenv("BUCKET_NAME", "example-travel-raw-test")
        monkeypatch.setenv("KEY_PREFIX", "complaints/")
        monkeypatch.setenv("KEY_SUFFIX", ".json")
        yield client, arn


def executions(client, arn) -> list[dict]:
    return client.list_executions(stateMachineArn=arn)["executions"]


def test_new_object_starts_one_execution_with_its_identity(state_machine):
    client, arn = state_machine
    result = start_pipeline.handler(copy.deepcopy(SAMPLE_EVENT), None)
    assert result["status"] == "started"
    (execution,) = executions(client, arn)
    started = client.describe_execution(executionArn=execution["executionArn"])
    assert json.loads(started["input"]) == {
        "trigger": "s3",
        "bucket": "example-travel-raw-test",
        "key": "complaints/2026/11/21/batch-0001.json",
        "size": 5372,
        "versionId": "IYV3p45BT0ac8hjHg1houSdS1a.Mppz",
        "eventId": "17793124-05d4-b198-2fde-7ededc63b103",
    }
    assert started["name"].startswith("complaints-2026-11-21-batch-0001-json-") and len(started["name"]) <= 80


def test_same_event_delivered_twice_starts_exactly_one_execution(state_machine):
    client, arn = state_machine
    first = start_pipeline.handler(copy.deepcopy(SAMPLE_EVENT), None)
    redelivered = copy.deepcopy(SAMPLE_EVENT)
    redelivered["id"] = "a-second-delivery-of-the-same-object"
    second = start_pipeline.handler(redelivered, None)
    assert (first["status"], second["status"]) == ("started", "duplicate")
    assert len(executions(client, arn)) == 1


def test_an_identical_redelivery_starts_nothing_new(state_machine):
    client, arn = state_machine
    results = [start_pipeline.handler(copy.deepcopy(SAMPLE_EVENT), None)["status"] for _ in range(2)]
    assert results[0] == "started" and results[1] in ("started", "duplicate")
    assert len(executions(client, arn)) == 1


def test_a_new_version_of_the_same_key_starts_another_execution(state_machine):
    client, arn = state_machine
    start_pipeline.handler(copy.deepcopy(SAMPLE_EVENT), None)
    newer = copy.deepcopy(SAMPLE_EVENT)
    newer["detail"]["object"]["version-id"] = "a-newer-version"
    assert start_pipeline.handler(newer, None)["status"] == "started"
    assert len(executions(client, arn)) == 2


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda e: e["detail"].pop("object"), "event lacks the bucket name, object key or event id"),
        (lambda e: e["detail"]["bucket"].update(name="other-bucket"), "bucket 'other-bucket' is not this pipeline's bucket"),
        (lambda e: e["detail"]["object"].update(key="exports/a.json"), "does not match prefix 'complaints/'"),
        (lambda e: e["detail"]["object"].update(key="complaints/a.csv"), "and suffix '.json'"),
        (lambda e: e.update({"detail-type": "Object Deleted"}), "not an S3 Object Created event"),
    ],
)
def test_bad_events_are_logged_and_ignored(state_machine, caplog, change, reason):
    client, arn = state_machine
    event = copy.deepcopy(SAMPLE_EVENT)
    change(event)
    with caplog.at_level(logging.WARNING, logger="start_pipeline"):
        result = start_pipeline.handler(event, None)
    assert result["status"] == "ignored" and reason in result["reason"]
    (record,) = caplog.records
    assert record.message == "ignored event" and reason in record.reason
    assert executions(client, arn) == []


def test_unknown_errors_propagate_for_lambda_to_retry(state_machine, monkeypatch):
    client, arn = state_machine
    monkeypatch.setenv("STATE_MACHINE_ARN", arn.replace("glue-etl-pipeline-test", "no-such-machine"))
    with pytest.raises(ClientError) as raised:
        start_pipeline.handler(copy.deepcopy(SAMPLE_EVENT), None)
    assert raised.value.response["Error"]["Code"] == "StateMachineDoesNotExist"


def test_throttling_propagates(state_machine, monkeypatch):
    def throttled(self, operation, params):
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, operation)

    monkeypatch.setattr("botocore.client.BaseClient._make_api_call", throttled)
    with pytest.raises(ClientError, match="ThrottlingException"):
        start_pipeline.handler(copy.deepcopy(SAMPLE_EVENT), None)
