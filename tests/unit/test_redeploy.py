"""Redeploys, rollbacks and replacements never meet a resource of the same name.

CloudFormation creates a replacement before deleting the old resource, and a retained resource
outlives its stack: a fixed physical name on either collides on the next create.
"""

from __future__ import annotations

import json
import re

import pytest

# Where each resource type keeps its physical name.
NAME_PROPERTIES = {
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::KMS::Key": None,
    "AWS::Glue::SecurityConfiguration": "Name",
    "AWS::Glue::Job": "Name",
    "AWS::Glue::DataQualityRuleset": "Name",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::IAM::Role": "RoleName",
    "AWS::Events::Rule": "Name",
}
# Types whose every property change is a replacement (AWS::Glue::SecurityConfiguration has no update).
REPLACED_ON_ANY_CHANGE = {"AWS::Glue::SecurityConfiguration"}
RETAINED = {"Retain", "RetainExceptOnCreate", "Snapshot"}


def name_of(resource: dict):
    prop = NAME_PROPERTIES.get(resource["Type"])
    return resource.get("Properties", {}).get(prop) if prop else None


def collisions(template: dict) -> list[str]:
    found = []
    for logical_id, resource in template["Resources"].items():
        name = name_of(resource)
        if name is None:
            continue
        text = json.dumps(name)
        retained = resource.get("DeletionPolicy") in RETAINED or resource.get("UpdateReplacePolicy") in RETAINED
        if retained and "AWS::StackId" not in text:
            found.append(f"{logical_id}: retained under the fixed name {text}")
        if resource["Type"] in REPLACED_ON_ANY_CHANGE and not re.search(r"-[0-9a-f]{8}\"", text):
            found.append(f"{logical_id}: replaced on any change but named {text}, with nothing that follows the settings")
    return found


def test_no_template_has_a_fixed_name_that_would_collide(templates, variant_templates):
    for name, template in {**templates, **variant_templates}.items():
        assert collisions(template.to_json()) == [], name


@pytest.mark.parametrize(
    "resource",
    [
        {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain", "Properties": {"LogGroupName": "/aws/x"}},
        {"Type": "AWS::Glue::SecurityConfiguration", "Properties": {"Name": "job-security"}},
    ],
)
def test_the_walk_finds_a_colliding_name(resource):
    assert len(collisions({"Resources": {"R": resource}})) == 1


def test_retained_log_groups_carry_the_stack_instance(prod_template):
    for resource in prod_template.find_resources("AWS::Logs::LogGroup").values():
        assert resource["DeletionPolicy"] == "Retain"
        name = json.dumps(resource["Properties"].get("LogGroupName", "generated"))
        assert name == '"generated"' or "AWS::StackId" in name


def test_security_configuration_name_follows_its_settings_and_leaves_cloudwatch_encryption_out(prod_template):
    (configuration,) = prod_template.find_resources("AWS::Glue::SecurityConfiguration").values()
    settings = configuration["Properties"]["EncryptionConfiguration"]
    assert "CloudWatchEncryption" not in settings or settings["CloudWatchEncryption"]["CloudWatchEncryptionMode"] == "DISABLED"
    assert settings["JobBookmarksEncryption"]["JobBookmarksEncryptionMode"] == "CSE-KMS"
    assert re.search(r"-security-[0-9a-f]{8}$", configuration["Properties"]["Name"]["Fn::Join"][1][-1])


# Every resource an upgrade must keep (retained: it holds logs, or keys that encrypt them), by logical id.
RETAINED_LOGICAL_IDS = {
    "EtlJobErrorLogs374BD0CF", "EtlJobOutputLogs7818ED80", "WorkflowLogs8B0907C7", "FailureReportsLogsC9EA8C71",
    "EtlJobKey4034CCA5", "MessagingKey9A79A2B1",
}
# The start-pipeline function's log group, where the trigger includes new objects (s3, both).
EVENT_DRIVEN_LOGICAL_IDS = {"ObjectCreatedLogs6F582D0F"}


def test_an_upgrade_keeps_every_retained_resource_under_its_logical_id(templates, project_config):
    """To CloudFormation a new logical id is a new resource, created before the old one goes: a log
    group under its fixed name then collides with itself and the update fails, and the old retained
    one is orphaned with its logs. Renaming a construct on the path to any of these breaks upgrades."""
    for name, template in templates.items():
        retained = {
            logical_id for logical_id, resource in template.to_json()["Resources"].items()
            if resource.get("DeletionPolicy") in RETAINED or resource.get("UpdateReplacePolicy") in RETAINED
        }
        (config,) = project_config.select(name)
        expected = RETAINED_LOGICAL_IDS | (EVENT_DRIVEN_LOGICAL_IDS if config.on_object_created else set())
        assert retained == expected, name
