"""Small helpers shared by the test modules."""

from __future__ import annotations

from pathlib import Path

from aws_cdk.assertions import Template

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# The checkov checks each environment's template skips, as (check, logical id prefix): a new skip is a
# reviewed change. test_checkov.py holds checkov's own scan to it, test_security.py the templates.
CHECKOV_REVIEWED_SKIPS = {
    "DEV": {
        ("CKV_AWS_99", "EtlJobSecurityConfiguration"),
        ("CKV_AWS_18", "RawDataAccessLogs"),
        ("CKV_AWS_21", "RawDataAccessLogs"),
        ("CKV_AWS_115", "BucketNotificationsHandler"),
        ("CKV_AWS_116", "BucketNotificationsHandler"),
        ("CKV_AWS_117", "BucketNotificationsHandler"),
        ("CKV_AWS_115", "ObjectCreatedStartPipeline"),
        ("CKV_AWS_117", "ObjectCreatedStartPipeline"),
        ("CKV_AWS_173", "ObjectCreatedStartPipeline"),
        ("CKV_AWS_115", "FailureReportsReportFailure"),
        ("CKV_AWS_117", "FailureReportsReportFailure"),
        ("CKV_AWS_173", "FailureReportsReportFailure"),
    },
    "TEST": {
        ("CKV_AWS_99", "EtlJobSecurityConfiguration"),
        ("CKV_AWS_115", "ObjectCreatedStartPipeline"),
        ("CKV_AWS_117", "ObjectCreatedStartPipeline"),
        ("CKV_AWS_173", "ObjectCreatedStartPipeline"),
        ("CKV_AWS_115", "FailureReportsReportFailure"),
        ("CKV_AWS_117", "FailureReportsReportFailure"),
        ("CKV_AWS_173", "FailureReportsReportFailure"),
    },
    "PROD": {
        ("CKV_AWS_99", "EtlJobSecurityConfiguration"),
        ("CKV_AWS_115", "FailureReportsReportFailure"),
        ("CKV_AWS_117", "FailureReportsReportFailure"),
        ("CKV_AWS_173", "FailureReportsReportFailure"),
    },
}


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
