"""Physical names that never collide on redeploy, rollback or replacement.

CloudFormation creates a replacement before it deletes the old resource, and a resource kept with
`DeletionPolicy: Retain` outlives its stack (AWS CloudFormation User Guide, "Update behaviors of
stack resources" and "DeletionPolicy attribute"). So a fixed name collides twice over: with the
resource being replaced, and with what a deleted stack left behind. Names here carry either the
stack's own id (new on every create) or a digest of the settings whose change forces a replacement.
"""

from __future__ import annotations

import hashlib
import json

from aws_cdk import Aws, Fn


def stack_instance_id() -> str:
    """The last group of the stack id's UUID: the same across updates, new for every stack created."""
    stack_uuid = Fn.select(2, Fn.split("/", Aws.STACK_ID))
    return Fn.select(4, Fn.split("-", stack_uuid))


def settings_digest(*settings: object) -> str:
    """Eight hex digits that change whenever any of `settings` does."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:8]
