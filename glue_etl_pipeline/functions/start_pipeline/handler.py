"""Lambda: start the pipeline's state machine for an S3 "Object Created" event, once per object version.

S3 and EventBridge deliver at least once, so the execution name is derived from the object's
identity (bucket, key, version id or sequencer): a second delivery starts nothing new. Step
Functions either returns the running execution (same name, same input) or answers
ExecutionAlreadyExists, which the handler treats as success. Events that are not for this pipeline are logged and
ignored; throttling and other errors propagate so Lambda's retries and dead-letter queue apply.

Environment: STATE_MACHINE_ARN, BUCKET_NAME, KEY_PREFIX (may be empty), KEY_SUFFIX (may be empty).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass

import boto3
from botocore.exceptions import ClientError

LOG = logging.getLogger("start_pipeline")
LOG.setLevel(logging.INFO)
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


class IgnoredEvent(Exception):
    """The event is not one this pipeline acts on; the message says why."""


@dataclass(frozen=True)
class Settings:
    state_machine_arn: str
    bucket: str
    key_prefix: str
    key_suffix: str

    @classmethod
    def from_environment(cls, environ) -> "Settings":
        return cls(environ["STATE_MACHINE_ARN"], environ["BUCKET_NAME"], environ.get("KEY_PREFIX", ""), environ.get("KEY_SUFFIX", ""))


@dataclass(frozen=True)
class NewObject:
    bucket: str
    key: str
    size: int
    version_id: str | None
    sequencer: str | None
    event_id: str

    @property
    def execution_name(self) -> str:
        """Unique per object version, at most 80 characters, readable: `<key tail>-<hash>`."""
        identity = "\0".join((self.bucket, self.key, self.version_id or "", self.sequencer or ""))
        digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
        tail = _NAME_UNSAFE.sub("-", self.key)[-40:].lstrip("-") or "object"
        return f"{tail}-{digest}"

    def execution_input(self) -> dict:
        return {
            "trigger": "s3",
            "bucket": self.bucket,
            "key": self.key,
            "size": self.size,
            "versionId": self.version_id,
            "eventId": self.event_id,
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
    size = item.get("size")
    return NewObject(bucket, key, int(size) if isinstance(size, int) else 0, item.get("version-id"), item.get("sequencer"), event["id"])


def handler(event: dict, context) -> dict:
    settings = Settings.from_environment(os.environ)
    try:
        item = new_object(event, settings)
    except IgnoredEvent as reason:
        LOG.warning("ignored event", extra={"eventId": event.get("id"), "reason": str(reason)})
        return {"status": "ignored", "reason": str(reason)}
    client = boto3.client("stepfunctions")
    try:
        started = client.start_execution(
            stateMachineArn=settings.state_machine_arn, name=item.execution_name, input=json.dumps(item.execution_input())
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ExecutionAlreadyExists":
            raise
        LOG.info("duplicate delivery; execution already started", extra={"eventId": item.event_id, "execution": item.execution_name})
        return {"status": "duplicate", "execution": item.execution_name}
    LOG.info("started execution", extra={"eventId": item.event_id, "key": item.key, "executionArn": started["executionArn"]})
    return {"status": "started", "executionArn": started["executionArn"]}
