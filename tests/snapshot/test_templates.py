"""Each environment's whole template, so any infrastructure change shows up in review.

Update deliberately with `.venv/bin/pytest tests/snapshot --snapshot-update` and commit the diff.
"""

from __future__ import annotations

import json
import re

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

ASSET_HASH = re.compile(r"[0-9a-f]{64}")


def _canonical(value):
    """IAM resource lists sorted after hashing: CDK orders them by the (changing) asset hashes."""
    if isinstance(value, dict):
        return {
            key: sorted((_canonical(item) for item in item_list), key=json.dumps)
            if key == "Resource" and isinstance(item_list := value[key], list)
            else _canonical(value[key])
            for key in value
        }
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    return value


def normalised(template) -> dict:
    """The template with asset hashes replaced, so code edits to the Glue script do not churn the snapshot."""
    return _canonical(json.loads(ASSET_HASH.sub("<asset-hash>", json.dumps(template.to_json(), sort_keys=True))))


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("environment", ["DEV", "TEST", "PROD"])
def test_template_matches_snapshot(templates, environment, snapshot_json):
    assert normalised(templates[environment]) == snapshot_json


def test_asset_hashes_are_normalised(dev_template):
    text = json.dumps(normalised(dev_template))
    assert "<asset-hash>" in text and not ASSET_HASH.search(text)


def test_resource_order_does_not_depend_on_asset_hashes():
    statement = {"Statement": [{"Resource": ["arn:aws:s3:::b/" + "f" * 64 + ".py", "arn:aws:s3:::b/" + "0" * 64 + ".zip"]}]}
    swapped = {"Statement": [{"Resource": ["arn:aws:s3:::b/" + "0" * 64 + ".py", "arn:aws:s3:::b/" + "f" * 64 + ".zip"]}]}

    class Stub:
        def __init__(self, document):
            self.document = document

        def to_json(self):
            return self.document

    assert normalised(Stub(statement)) == normalised(Stub(swapped))
