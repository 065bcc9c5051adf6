"""Lambda: coalesce S3 "Object Created" events into one state machine execution per time window.

Each event belongs to the coalescing window its event time falls in (WINDOW_MINUTES long, counted
from the Unix epoch). The execution is named after that window, so the first event of a window
starts it and every later, duplicate or late event of the same window meets ExecutionAlreadyExists
and starts nothing; a burst of files starts one execution per window, not one per object. The
state machine waits until the window's end before it starts the Glue job, whose bookmarks then read
every object created in the window (an object exists before its event, and its event time falls
inside the window). A replay for a window whose execution is still running is logged as coalesced,
one whose execution has ended as already processed. Events that are not for this pipeline are
logged and ignored; throttling and other errors propagate so Lambda's retries and dead-letter
queue apply. An object whose event is lost entirely is read by the next run: the next window's,
the schedule's or the daily catch-up's.

Environment: STATE_MACHINE_ARN, BUCKET_NAME, KEY_PREFIX (may be empty), KEY_SUFFIX (may be empty),
WINDOW_MINUTES.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import boto3
from botocore.exceptions import ClientError

LOG = logging.getLogger("start_pipeline")
LOG.setLevel(logging.INFO)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class IgnoredEvent(Exception):
    """The event is not one this pipeline acts on; the message says why."""


@dataclass(frozen=True)
class Settings:
    state_machine_arn: str
    bucket: str
    key_prefix: str
    key_suffix: str
    window_minutes: int

    @classmethod
    def from_environment(cls, environ) -> "Settings":
        return cls(
            environ["STATE_MACHINE_ARN"],
            environ["BUCKET_NAME"],
            environ.get("KEY_PREFIX", ""),
            environ.get("KEY_SUFFIX", ""),
            int(environ["WINDOW_MINUTES"]),
        )

    def execution_arn(self, name: str) -> str:
        return self.state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    @classmethod
    def of(cls, moment: datetime, minutes: int) -> "Window":
        length = timedelta(minutes=minutes)
        start = _EPOCH + ((moment - _EPOCH) // length) * length
        return cls(start, start + length)

    @property
    def execution_name(self) -> str:
        return f"s3-window-{self.start:%Y%m%dT%H%MZ}-{int((self.end - self.start).total_seconds() // 60)}m"

    def as_dict(self) -> dict:
        return {"start": f"{self.start:%Y-%m-%dT%H:%M:%SZ}", "end": f"{self.end:%Y-%m-%dT%H:%M:%SZ}"}


@dataclass(frozen=True)
class NewObject:
    bucket: str
    key: str
    size: int
    version_id: str | None
    sequencer: str | None
    etag: str | None
    event_id: str
    event_time: datetime

    @property
    def identity(self) -> str:
        """Which write of the key this is: its version id or sequencer, else its ETag and event time."""
        return self.version_id or self.sequencer or f"{self.etag or 'no-etag'}@{self.event_time:%Y-%m-%dT%H:%M:%SZ}"

    def execution_input(self, window: Window) -> dict:
        return {
            "trigger": "s3",
            "window": window.as_dict(),
            "firstObject": {"bucket": self.bucket, "key": self.key, "size": self.size, "identity": self.identity},
            "eventId": self.event_id,
            # Unique per call: Step Functions answers a start with the same name *and input* as a running
            # execution with success, which would hide a replay; a distinct input always gets
            # ExecutionAlreadyExists once the window's execution exists.
            "startRequest": uuid.uuid4().hex,
        }


def new_object(event: dict, settings: Settings) -> NewObject:
    """The object an EventBridge S3 event announces, or `IgnoredEvent` with the reason."""
    if event.get("source") != "aws.s3" or event.get("detail-type") != "Object Created":
        raise IgnoredEvent(f"not an S3 Object Created event: {event.get('source')!r} / {event.get('detail-type')!r}")
    detail = event.get("detail") or {}
    bucket = (detail.get("bucket") or {}).get("name")
    item = detail.get("object") or {}
    key = item.get("key")
    if not bucket or not key or not event.get("id"):
        raise IgnoredEvent("event lacks the bucket name, object key or event id")
    if bucket != settings.bucket:
        raise IgnoredEvent(f"bucket {bucket!r} is not this pipeline's bucket {settings.bucket!r}")
    if not key.startswith(settings.key_prefix) or not key.endswith(settings.key_suffix):
        raise IgnoredEvent(f"key {key!r} does not match prefix {settings.key_prefix!r} and suffix {settings.key_suffix!r}")
    if key.endswith("/"):
        raise IgnoredEvent(f"key {key!r} is a folder marker")
    try:
        # Python 3.11+ reads EventBridge's trailing Z; a time without an offset would be local, so UTC on Lambda.
        event_time = datetime.fromisoformat(str(event.get("time"))).astimezone(timezone.utc)
    except ValueError:
        raise IgnoredEvent(f"event time {event.get('time')!r} is not an ISO 8601 time") from None
    size = item.get("size")
    return NewObject(
        bucket, key, int(size) if isinstance(size, int) else 0, item.get("version-id"), item.get("sequencer"),
        item.get("etag"), event["id"], event_time,
    )


@functools.cache
def stepfunctions():
    """One client per container: created on first use, reused by every later invocation."""
    return boto3.client("stepfunctions")


def handler(event: dict, context) -> dict:
    settings = Settings.from_environment(os.environ)
    try:
        item = new_object(event, settings)
    except IgnoredEvent as reason:
        LOG.warning("ignored event", extra={"eventId": event.get("id"), "reason": str(reason)})
        return {"status": "ignored", "reason": str(reason)}
    window = Window.of(item.event_time, settings.window_minutes)
    name = window.execution_name
    details = {"eventId": item.event_id, "key": item.key, "identity": item.identity, "execution": name}
    client = stepfunctions()
    try:
        started = client.start_execution(
            stateMachineArn=settings.state_machine_arn, name=name, input=json.dumps(item.execution_input(window))
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ExecutionAlreadyExists":
            raise
        status = client.describe_execution(executionArn=settings.execution_arn(name))["status"]
        if status == "RUNNING":
            LOG.info("coalesced into the window's running execution", extra=details)
            return {"status": "coalesced", "execution": name}
        LOG.info("the window's execution has already ended; its run (or, had it failed, the next one) reads this object", extra={**details, "executionStatus": status})
        return {"status": "window-already-processed", "execution": name, "executionStatus": status}
    LOG.info("started the window's execution", extra={**details, "executionArn": started["executionArn"], "window": window.as_dict()})
    return {"status": "started", "executionArn": started["executionArn"]}
