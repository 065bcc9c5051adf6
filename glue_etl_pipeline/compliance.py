"""Acknowledging AWS Solutions (cdk-nag) findings next to the resources they concern.

A finding about a wildcard resource is named after the resource as cdk-nag prints it (tokens as
`<LogicalId>` or `<AWS::Region>`); `resource_finding` renders a CDK value that way, so an
acknowledgement covers exactly one resource and a new wildcard still fails the synth.
"""

from __future__ import annotations

import json

import jsii
from aws_cdk import Acknowledgment, CfnResource, IAspect, Stack, Validations
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
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)).startswith("Fn::"):
        # Any other intrinsic (Fn::Select, Fn::Split, ...) is printed as compact JSON.
        return json.dumps(value, separators=(",", ":"))
    raise ValueError(f"cannot render {value!r} as cdk-nag does")


def resource_finding(scope: IConstruct, rule: str, resource: str) -> str:
    """The id of a wildcard-resource finding, e.g. `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::b/p/*]`."""
    return f"{rule}[Resource::{_render(Stack.of(scope).resolve(resource))}]"


def acknowledge(scope: IConstruct, finding: str, reason: str) -> None:
    """Accept one finding on `scope` and everything under it, with the reason a reviewer reads."""
    Validations.of(scope).acknowledge(Acknowledgment(id=finding, reason=reason))


def skip_checkov(scope: IConstruct, check: str, reason: str) -> None:
    """Skip one checkov check on `scope`'s CloudFormation resource, with the reason a reviewer reads.

    checkov honours `Metadata: {checkov: {skip: [{id, comment}]}}` on a resource.
    """
    resource = scope if isinstance(scope, CfnResource) else scope.node.default_child
    skips = (resource.get_metadata("checkov") or {}).get("skip", [])
    resource.add_metadata("checkov", {"skip": [*skips, {"id": check, "comment": reason}]})


def referenced_logical_ids(value) -> set[str]:
    """Logical ids a resolved CloudFormation value refers to with Ref or Fn::GetAtt."""
    if isinstance(value, dict):
        found = set()
        if "Ref" in value and isinstance(value["Ref"], str):
            found.add(value["Ref"])
        if "Fn::GetAtt" in value:
            found.add(value["Fn::GetAtt"][0])
        for item in value.values():
            found |= referenced_logical_ids(item)
        return found
    if isinstance(value, list):
        return set().union(*(referenced_logical_ids(item) for item in value)) if value else set()
    return set()


@jsii.implements(IAspect)
class DropRedundantDependsOn:
    """Drops a DependsOn on a resource the dependent already references (cfn-lint W3005).

    CDK makes state machines and functions depend on their whole role construct (the role and its
    policy); the Ref or GetAtt to the role already orders the two, so only the policy edge is kept.
    The result is written as an explicit DependsOn, listing exactly what CDK would have minus those.
    """

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, CfnResource):
            return
        stack = Stack.of(node)
        targets = {dependency for dependency in node.obtain_dependencies() if isinstance(dependency, CfnResource)}
        for scope in node.node.scopes:
            for dependency in scope.node.dependencies:
                targets.update(
                    child for child in dependency.node.find_all() if isinstance(child, CfnResource) and Stack.of(child) is stack
                )
        referenced = referenced_logical_ids(stack.resolve(node._cfn_properties))
        redundant = {target for target in targets if stack.resolve(target.logical_id) in referenced}
        if redundant:
            kept = sorted(stack.resolve(target.logical_id) for target in targets - redundant)
            if kept:
                node.add_override("DependsOn", kept)
            else:
                node.add_deletion_override("DependsOn")
