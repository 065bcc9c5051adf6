"""Small helpers shared by the test modules."""

from __future__ import annotations

from pathlib import Path

from aws_cdk.assertions import Template

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def only_resource(template: Template, resource_type: str) -> dict:
    """The single resource of `resource_type`; fails when there are none or several."""
    resources = template.find_resources(resource_type)
    assert len(resources) == 1, f"expected one {resource_type}, found {len(resources)}"
    return next(iter(resources.values()))


def policy_statements(template: Template, role_logical_id_prefix: str) -> list[dict]:
    """Every statement of the inline policies attached to the role whose logical id starts with the prefix."""
    statements = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        roles = [ref["Ref"] for ref in policy["Properties"].get("Roles", [])]
        if any(role.startswith(role_logical_id_prefix) for role in roles):
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def resource_named(template: Template, resource_type: str, logical_id_prefix: str) -> dict:
    """The single resource of `resource_type` whose logical id starts with the prefix."""
    found = [r for i, r in template.find_resources(resource_type).items() if i.startswith(logical_id_prefix)]
    assert len(found) == 1, f"expected one {resource_type} named {logical_id_prefix}*, found {len(found)}"
    return found[0]
