"""Draws the architecture from a synthesized template: `python -m tools.diagram TEMPLATE > docs/infra.dot`.

Nodes are the resources a reader cares about; an edge A -> B means A refers to B in its properties,
or A's role is allowed to act on B. Rendered to SVG by Graphviz (`make diagram`); the tests compare
the committed picture with the current template, so it cannot drift from the code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from glue_etl_pipeline.compliance import referenced_logical_ids

SHOWN = {
    "AWS::Events::Rule": "EventBridge rule",
    "AWS::StepFunctions::StateMachine": "Step Functions",
    "AWS::Glue::Job": "Glue job",
    "AWS::Glue::DataQualityRuleset": "DQ ruleset",
    "AWS::Glue::SecurityConfiguration": "Glue security config",
    "AWS::SNS::Topic": "SNS topic",
    "AWS::SQS::Queue": "SQS queue",
    "AWS::S3::Bucket": "S3 bucket",
    "AWS::Lambda::Function": "Lambda",
    "AWS::KMS::Key": "KMS key",
    "AWS::CloudWatch::Alarm": "CloudWatch alarm",
    "AWS::CloudWatch::Dashboard": "CloudWatch dashboard",
    "AWS::Glue::Table": "Glue catalog table",
}
# CDK's own deploy-time helpers are not part of the pipeline's architecture.
HIDDEN_PREFIXES = ("BucketNotificationsHandler",)


def graph(template: dict) -> tuple[dict[str, str], set[tuple[str, str]]]:
    """Shown nodes (logical id -> label) and edges between them."""
    resources = template["Resources"]
    nodes = {
        logical_id: f"{SHOWN[resource['Type']]}\\n{logical_id}"
        for logical_id, resource in resources.items()
        if resource["Type"] in SHOWN and not logical_id.startswith(HIDDEN_PREFIXES)
    }
    role_reach: dict[str, set[str]] = {}
    for resource in resources.values():
        if resource["Type"] == "AWS::IAM::Policy":
            for role in referenced_logical_ids(resource["Properties"].get("Roles", [])):
                role_reach.setdefault(role, set()).update(referenced_logical_ids(resource["Properties"]["PolicyDocument"]))
    edges = set()
    for logical_id in nodes:
        referenced = referenced_logical_ids(resources[logical_id].get("Properties", {}))
        for role in [r for r in referenced if resources.get(r, {}).get("Type") == "AWS::IAM::Role"]:
            referenced |= role_reach.get(role, set())
        edges |= {(logical_id, target) for target in referenced if target in nodes and target != logical_id}
    return nodes, edges


def to_dot(nodes: dict[str, str], edges: set[tuple[str, str]]) -> str:
    lines = [
        "digraph pipeline {",
        '  rankdir=LR; node [shape=box, style="rounded,filled", fillcolor="#eef3fb", fontname="Helvetica", fontsize=10];',
        '  edge [color="#5a6b87"];',
    ]
    lines += [f'  "{logical_id}" [label="{label}"];' for logical_id, label in sorted(nodes.items())]
    lines += [f'  "{source}" -> "{target}";' for source, target in sorted(edges)]
    lines.append("}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(to_dot(*graph(json.loads(Path(sys.argv[1]).read_text()))), end="")
