"""Acknowledging AWS Solutions (cdk-nag) findings next to the resources they concern.

A finding about a wildcard resource is named after the resource as cdk-nag prints it (tokens as
`<LogicalId>` or `<AWS::Region>`); `resource_finding` renders a CDK value that way, so an
acknowledgement covers exactly one resource and a new wildcard still fails the synth.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct


def _render(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_render(part) for part in parts)
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return f"<{'.'.join(value['Fn::GetAtt'])}>"
    raise ValueError(f"cannot render {value!r} as cdk-nag does")


def resource_finding(scope: IConstruct, rule: str, resource: str) -> str:
    """The id of a wildcard-resource finding, e.g. `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::b/p/*]`."""
    return f"{rule}[Resource::{_render(Stack.of(scope).resolve(resource))}]"


def acknowledge(scope: IConstruct, finding: str, reason: str) -> None:
    """Accept one finding on `scope` and everything under it, with the reason a reviewer reads."""
    Validations.of(scope).acknowledge(Acknowledgment(id=finding, reason=reason))
