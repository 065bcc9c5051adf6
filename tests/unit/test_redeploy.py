"""Redeploys, rollbacks and replacements never meet a resource of the same name.

CloudFormation creates a replacement before deleting the old resource, and a retained resource
outlives its stack: a fixed physical name on either collides on the next create.
"""

from __future__ import annotations

import json
import re

import pytest

from glue_etl_pipeline.naming import settings_digest
from tests.helpers import only_resource

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


def test_a_security_configuration_with_other_settings_is_replaced_under_another_name(templates, variant_templates):
    """The same settings give the same name suffix in every environment, and other settings another."""
    suffixes = {}
    for template in (templates["PROD"], templates["DEV"], variant_templates["KEYS"]):
        (configuration,) = template.find_resources("AWS::Glue::SecurityConfiguration").values()
        settings = json.dumps(configuration["Properties"]["EncryptionConfiguration"], sort_keys=True)
        suffixes.setdefault(settings, set()).add(configuration["Properties"]["Name"]["Fn::Join"][1][-1].rsplit("-", 1)[-1])
    assert len(suffixes) == 2 and all(len(names) == 1 for names in suffixes.values())
    assert len(set().union(*suffixes.values())) == 2


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


# DEV's alarms and dashboard (DEV has every one), by the name an operator knows them by.
NAMED_BY_LOGICAL_ID = {
    "Monitoringexecutionsthrottled565E6F52": "executions-throttled",
    "Monitoringnofreshrecords3D68F0E9": "no-fresh-records",
    "MonitoringexecutionendedfailedinvocationsEC8591E1": "execution-ended-failed-invocations",
    "Monitoringjobrunfailedfailedinvocations6AF3E37A": "job-run-failed-failed-invocations",
    "Monitoringreportfailureerrors0EB58D52": "report-failure-errors",
    "Monitoringreportfailureasynceventsdropped1F0D072E": "report-failure-async-events-dropped",
    "MonitoringreportfailuredeadlettersDF381D7E": "report-failure-dead-letters",
    "MonitoringschedulefailedinvocationsD39D3FE2": "schedule-failed-invocations",
    "MonitoringscheduledeadlettersB442018A": "schedule-dead-letters",
    "Monitoringcatchupfailedinvocations1ED9E1FD": "catch-up-failed-invocations",
    "Monitoringcatchupdeadletters184D325E": "catch-up-dead-letters",
    "MonitoringobjectcreatedfailedinvocationsA6F8CA30": "object-created-failed-invocations",
    "Monitoringstartpipelineerrors4A3F0E56": "start-pipeline-errors",
    "MonitoringstartpipelineasynceventsdroppedD20EDDC7": "start-pipeline-async-events-dropped",
    "Monitoringstartpipelinedeadletters540387F1": "start-pipeline-dead-letters",
    "MonitoringDashboard0C3675C6": "",
}


def test_an_upgrade_keeps_each_alarm_and_the_dashboard_under_its_logical_id(dev_template):
    """Under a new logical id CloudFormation creates the replacement before it deletes the old one
    (AWS CDK Developer Guide, "Logical ID stability"), here under the same name. Either that create
    fails and the update rolls back, or, as PutMetricAlarm and PutDashboard overwrite what has the
    name, the old one's deletion by name then removes the new one: the environment is left without
    that alarm or dashboard."""
    names = {
        logical_id: (resource["Properties"].get("AlarmName") or resource["Properties"]["DashboardName"])
        for logical_id, resource in dev_template.to_json()["Resources"].items()
        if resource["Type"] in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::Dashboard")
    }
    assert names == {
        logical_id: "-".join(filter(None, ("glue-etl-pipeline-dev", suffix))) for logical_id, suffix in NAMED_BY_LOGICAL_ID.items()
    }


def test_a_ruleset_moved_to_another_table_is_replaced_under_a_new_name(templates, variant_templates):
    """A new TargetTable replaces AWS::Glue::DataQualityRuleset (CloudFormation User Guide, its
    TargetTable property: "Update requires: Replacement"), and the replacement is created first: its
    name carries a digest of the table it rules, so the two never share one."""
    for name, template in {**templates, **variant_templates}.items():
        ruleset = only_resource(template, "AWS::Glue::DataQualityRuleset")["Properties"]
        target = ruleset["TargetTable"]
        suffix = f"-ruleset-{settings_digest(target['DatabaseName'], target['TableName'])}"
        assert last_text_of(ruleset["Name"]).endswith(suffix), name
    assert settings_digest("travel", "complaints") not in {settings_digest("travel", "bookings"), settings_digest("sales", "complaints")}


def last_text_of(name) -> str:
    """The literal end of a physical name, whether plain text or an Fn::Join of parts."""
    while isinstance(name, dict):
        name = name["Fn::Join"][1][-1]
    return name
