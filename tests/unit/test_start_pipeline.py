"""The start-pipeline Lambda against moto's Step Functions (real boto3 calls, no AWS account)."""

from __future__ import annotations

import copy
import json
import logging
import math
import random
from datetime import datetime, timedelta, timezone

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
        monkeypatch.setenv("WINDOW_MINUTES", "5")
        start_pipeline.stepfunctions.cache_clear()
        yield client, arn
        start_pipeline.stepfunctions.cache_clear()


def executions(client, arn) -> list[dict]:
    return client.list_executions(stateMachineArn=arn)["executions"]


def event_at(time: str, key: str = "complaints/2026/11/21/batch-0001.json", version: str | None = "v1", event_id: str = "e-1") -> dict:
    event = copy.deepcopy(SAMPLE_EVENT)
    event.update(time=time, id=event_id)
    event["detail"]["object"].update(key=key)
    if version is None:
        del event["detail"]["object"]["version-id"], event["detail"]["object"]["sequencer"]
    else:
        event["detail"]["object"]["version-id"] = version
    return event


# What the JSON log formatter shows besides the message: the fields operators query in Logs Insights.
STANDARD_RECORD_FIELDS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def log_fields(record: logging.LogRecord) -> dict:
    return {key: value for key, value in vars(record).items() if key not in STANDARD_RECORD_FIELDS}


def test_the_first_object_of_a_window_starts_its_execution_named_after_the_window(state_machine, caplog):
    client, arn = state_machine
    with caplog.at_level(logging.INFO, logger="start_pipeline"):
        result = start_pipeline.handler(event_at("2026-11-21T10:22:37Z"), None)
    (execution,) = executions(client, arn)
    assert result == {"status": "started", "executionArn": execution["executionArn"]}
    (record,) = caplog.records
    assert record.message == "started the window's execution"
    assert log_fields(record) == {
        "eventId": "e-1", "key": "complaints/2026/11/21/batch-0001.json", "identity": "v1",
        "execution": "s3-window-20261121T1020Z-5m", "executionArn": execution["executionArn"],
        "window": {"start": "2026-11-21T10:20:00Z", "end": "2026-11-21T10:25:00Z"},
    }
    started = client.describe_execution(executionArn=execution["executionArn"])
    assert started["name"] == "s3-window-20261121T1020Z-5m"
    assert json.loads(started["input"]) == {
        "trigger": "s3",
        "window": {"start": "2026-11-21T10:20:00Z", "end": "2026-11-21T10:25:00Z"},
        "firstObject": {"bucket": "example-travel-raw-test", "key": "complaints/2026/11/21/batch-0001.json", "size": 5372, "identity": "v1"},
        "eventId": "e-1",
        "startRequest": json.loads(started["input"])["startRequest"],
    }
    assert len(json.loads(started["input"])["startRequest"]) == 32


def test_more_objects_and_redeliveries_in_the_window_are_coalesced_while_it_runs(state_machine, caplog):
    client, arn = state_machine
    start_pipeline.handler(event_at("2026-11-21T10:20:00Z"), None)
    with caplog.at_level(logging.INFO, logger="start_pipeline"):
        other = start_pipeline.handler(event_at("2026-11-21T10:24:59Z", key="complaints/b.json", event_id="e-2"), None)
        again = start_pipeline.handler(event_at("2026-11-21T10:20:00Z"), None)
        newer_version = start_pipeline.handler(event_at("2026-11-21T10:23:00Z", version="v2", event_id="e-3"), None)
    assert [r["status"] for r in (other, again, newer_version)] == ["coalesced"] * 3
    assert other == {"status": "coalesced", "execution": "s3-window-20261121T1020Z-5m"}
    assert [r.message for r in caplog.records][-3:] == ["coalesced into the window's running execution"] * 3
    assert log_fields(caplog.records[-3]) == {
        "eventId": "e-2", "key": "complaints/b.json", "identity": "v1", "execution": "s3-window-20261121T1020Z-5m",
    }
    assert len(executions(client, arn)) == 1


def test_a_late_delivery_for_an_ended_window_is_logged_as_already_processed(state_machine, caplog):
    client, arn = state_machine
    start_pipeline.handler(event_at("2026-11-21T10:21:00Z"), None)
    (execution,) = executions(client, arn)
    client.stop_execution(executionArn=execution["executionArn"])
    with caplog.at_level(logging.INFO, logger="start_pipeline"):
        late = start_pipeline.handler(event_at("2026-11-21T10:21:00Z", event_id="e-late"), None)
    assert late == {"status": "window-already-processed", "execution": "s3-window-20261121T1020Z-5m", "executionStatus": "ABORTED"}
    assert caplog.records[-1].message == (
        "the window's execution has already ended; its run (or, had it failed, the next one) reads this object"
    )
    assert log_fields(caplog.records[-1]) == {
        "eventId": "e-late", "key": "complaints/2026/11/21/batch-0001.json", "identity": "v1",
        "execution": "s3-window-20261121T1020Z-5m", "executionStatus": "ABORTED",
    }
    assert len(executions(client, arn)) == 1


def test_a_later_window_and_a_new_version_in_it_start_new_executions(state_machine):
    client, arn = state_machine
    start_pipeline.handler(event_at("2026-11-21T10:21:00Z"), None)
    assert start_pipeline.handler(event_at("2026-11-21T10:26:00Z", version="v2"), None)["status"] == "started"
    assert start_pipeline.handler(event_at("2026-11-21T11:00:00Z", key="complaints/c.json"), None)["status"] == "started"
    names = sorted(e["name"] for e in executions(client, arn))
    assert names == ["s3-window-20261121T1020Z-5m", "s3-window-20261121T1025Z-5m", "s3-window-20261121T1100Z-5m"]


def test_identity_falls_back_to_etag_and_event_time(state_machine):
    client, arn = state_machine
    start_pipeline.handler(event_at("2026-11-21T10:21:00Z", version=None), None)
    (execution,) = executions(client, arn)
    first = json.loads(client.describe_execution(executionArn=execution["executionArn"])["input"])["firstObject"]
    assert first["identity"] == "b1946ac92492d2347c6235b4d2611184@2026-11-21T10:21:00Z"


def test_the_client_is_created_once_per_container(state_machine, monkeypatch):
    created = []
    original = start_pipeline.boto3.client
    monkeypatch.setattr(start_pipeline.boto3, "client", lambda *a, **k: created.append(a) or original(*a, **k))
    for minute in (21, 22, 23):
        start_pipeline.handler(event_at(f"2026-11-21T10:{minute}:00Z", event_id=f"e-{minute}"), None)
    assert created == [("stepfunctions",)]


def test_a_burst_of_a_thousand_objects_in_five_minutes_starts_at_most_two_executions(state_machine):
    """1,000 objects over 5 minutes, 5% delivered twice and a few late: one execution per window touched."""
    client, arn = state_machine
    rng = random.Random(11)
    start = datetime(2026, 11, 21, 10, 22, 30, tzinfo=timezone.utc)  # not aligned: the burst spans two windows
    events = []
    for index in range(1000):
        when = start + timedelta(seconds=rng.uniform(0, 300))
        event = event_at(f"{when:%Y-%m-%dT%H:%M:%SZ}", key=f"complaints/burst/{index:04}.json", version=f"v{index}", event_id=f"e-{index}")
        events.append(event)
        if rng.random() < 0.05:
            events.append(copy.deepcopy(event))
    late = [events.pop(rng.randrange(len(events))) for _ in range(10)]
    statuses = [start_pipeline.handler(event, None)["status"] for event in events + late]
    started = executions(client, arn)
    # Windows touched: ceil(burst / window) + 1 at most, whatever the alignment.
    assert len(started) == 2 == math.ceil(5 / 5) + 1
    assert statuses.count("started") == 2 and statuses.count("coalesced") == len(statuses) - 2
    assert sorted(e["name"] for e in started) == ["s3-window-20261121T1020Z-5m", "s3-window-20261121T1025Z-5m"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda e: e["detail"].pop("object"), "event lacks the bucket name, object key or event id"),
        (lambda e: e["detail"]["bucket"].update(name="other-bucket"), "bucket 'other-bucket' is not this pipeline's bucket 'example-travel-raw-test'"),
        (lambda e: e["detail"]["object"].update(key="exports/a.json"), "key 'exports/a.json' does not match prefix 'complaints/' and suffix '.json'"),
        (lambda e: e["detail"]["object"].update(key="complaints/a.csv"), "key 'complaints/a.csv' does not match prefix 'complaints/' and suffix '.json'"),
        (lambda e: e.update({"detail-type": "Object Deleted"}), "not an S3 Object Created event: 'aws.s3' / 'Object Deleted'"),
        (lambda e: e.update(source="aws.s3.fake"), "not an S3 Object Created event: 'aws.s3.fake' / 'Object Created'"),
        (lambda e: e.pop("id"), "event lacks the bucket name, object key or event id"),
        (lambda e: e.update(time="yesterday"), "event time 'yesterday' is not an ISO 8601 time"),
    ],
)
def test_bad_events_are_logged_and_ignored(state_machine, caplog, change, reason):
    client, arn = state_machine
    event = copy.deepcopy(SAMPLE_EVENT)
    change(event)
    with caplog.at_level(logging.WARNING, logger="start_pipeline"):
        result = start_pipeline.handler(event, None)
    assert result == {"status": "ignored", "reason": reason}
    (record,) = caplog.records
    assert record.message == "ignored event" and reason in record.reason
    assert log_fields(record) == {"eventId": event.get("id"), "reason": result["reason"]}
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


def test_a_folder_marker_never_starts_a_run_even_without_a_suffix_filter(state_machine, monkeypatch):
    client, arn = state_machine
    monkeypatch.setenv("KEY_SUFFIX", "")
    event = event_at("2026-11-21T10:21:00Z", key="complaints/2026/11/")
    assert start_pipeline.handler(event, None) == {"status": "ignored", "reason": "key 'complaints/2026/11/' is a folder marker"}
    assert start_pipeline.handler(event_at("2026-11-21T10:21:00Z", key="complaints/2026/11/a.csv"), None)["status"] == "started"


def test_without_key_filters_every_object_of_the_bucket_counts(state_machine, monkeypatch):
    client, arn = state_machine
    monkeypatch.delenv("KEY_PREFIX")
    monkeypatch.delenv("KEY_SUFFIX")
    assert start_pipeline.handler(event_at("2026-11-21T10:21:00Z", key="anything/at/all.txt"), None)["status"] == "started"


def test_identity_is_the_sequencer_without_a_version_and_size_defaults_to_zero(state_machine):
    client, arn = state_machine
    event = event_at("2026-11-21T10:21:00Z")
    del event["detail"]["object"]["version-id"], event["detail"]["object"]["size"]
    start_pipeline.handler(event, None)
    (execution,) = executions(client, arn)
    first = json.loads(client.describe_execution(executionArn=execution["executionArn"])["input"])["firstObject"]
    assert (first["identity"], first["size"]) == ("00617F08299329D189", 0)


def test_an_event_time_with_an_offset_falls_in_the_window_of_its_instant(state_machine):
    client, arn = state_machine
    start_pipeline.handler(event_at("2026-11-21T12:22:00+02:00"), None)
    assert [e["name"] for e in executions(client, arn)] == ["s3-window-20261121T1020Z-5m"]
