"""Least privilege, proven both ways by an IAM policy simulator over the synthesized policies.

Every request each principal makes in a run is listed with the answer IAM must give, and so is
what each must be refused. The policies come from the templates (identity policies of the roles,
key, topic and queue policies), with CloudFormation's references resolved to the names a deployment
in account 123456789012, eu-west-1, would get; `@cloud-copilot/iam-simulate` (pinned in
package.json) evaluates them with their conditions, offline.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass

import pytest

from tests.helpers import PROJECT_ROOT

ACCOUNT, REGION, OTHER_ACCOUNT = "123456789012", "eu-west-1", "210987654321"
STACK_UUID = "51af3dc0-da77-11e4-872e-1234567db123"
ALLOWED, DENIED = "Allowed", "Denied"


class Resolved:
    """A template with every Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select and Fn::Split evaluated."""

    def __init__(self, template: dict, stack_name: str):
        self.resources = template["Resources"]
        self.pseudo = {
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{stack_name}/{STACK_UUID}",
            "AWS::StackName": stack_name,
        }

    def value(self, node):
        if isinstance(node, list):
            return [self.value(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "Ref" in node:
            return self.ref(node["Ref"])
        if "Fn::GetAtt" in node:
            return self.attribute(*node["Fn::GetAtt"])
        if "Fn::Join" in node:
            separator, parts = node["Fn::Join"]
            return separator.join(str(self.value(part)) for part in parts)
        if "Fn::Sub" in node:
            text = node["Fn::Sub"]
            for name, value in self.pseudo.items():
                text = text.replace("${" + name + "}", value)
            return text
        if "Fn::Select" in node:
            index, items = node["Fn::Select"]
            return self.value(items)[index]
        if "Fn::Split" in node:
            separator, text = node["Fn::Split"]
            return self.value(text).split(separator)
        return {key: self.value(item) for key, item in node.items()}

    def name(self, logical_id: str) -> str:
        properties = self.resources[logical_id].get("Properties", {})
        for key in ("Name", "StateMachineName", "LogGroupName", "BucketName", "FunctionName", "RoleName"):
            if key in properties:
                return self.value(properties[key])
        return logical_id.lower() if self.resources[logical_id]["Type"] == "AWS::S3::Bucket" else logical_id

    def arn(self, logical_id: str) -> str:
        kind, name = self.resources[logical_id]["Type"], self.name(logical_id)
        return {
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::KMS::Key": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{name}",
            "AWS::SNS::Topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
            "AWS::StepFunctions::StateMachine": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*",
            "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{name}",
            "AWS::Lambda::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
            "AWS::Events::Rule": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}",
            "AWS::Glue::Job": f"arn:aws:glue:{REGION}:{ACCOUNT}:job/{name}",
        }[kind]

    def ref(self, name: str) -> str:
        if name in self.pseudo:
            return self.pseudo[name]
        kind = self.resources[name]["Type"]
        if kind in ("AWS::SNS::Topic", "AWS::StepFunctions::StateMachine"):
            return self.arn(name)
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{self.name(name)}"
        return self.name(name)

    def attribute(self, logical_id: str, attribute: str) -> str:
        if attribute in ("Arn", "TopicArn"):
            return self.arn(logical_id)
        if attribute in ("Name", "QueueName", "TopicName"):
            return self.name(logical_id)
        raise AssertionError(f"attribute {logical_id}.{attribute}")

    def of_type(self, kind: str) -> dict[str, dict]:
        return {k: v for k, v in self.resources.items() if v["Type"] == kind}

    def logical_id(self, kind: str, containing: str) -> str:
        (found,) = [k for k in self.of_type(kind) if containing in k]
        return found

    def identity_policies(self, role_id: str) -> list[dict]:
        role = self.resources[role_id]["Properties"]
        policies = [
            {"name": p["PolicyName"], "policy": self.value(p["PolicyDocument"])} for p in role.get("Policies", [])
        ]
        for logical_id, policy in self.of_type("AWS::IAM::Policy").items():
            if {"Ref": role_id} in policy["Properties"].get("Roles", []):
                policies.append({"name": logical_id, "policy": self.value(policy["Properties"]["PolicyDocument"])})
        return policies

    def resource_policy(self, logical_id: str) -> dict | None:
        kind = self.resources[logical_id]["Type"]
        if kind == "AWS::KMS::Key":
            return self.value(self.resources[logical_id]["Properties"]["KeyPolicy"])
        attached = {"AWS::SNS::Topic": ("AWS::SNS::TopicPolicy", "Topics"), "AWS::SQS::Queue": ("AWS::SQS::QueuePolicy", "Queues"),
                    "AWS::S3::Bucket": ("AWS::S3::BucketPolicy", "Bucket")}
        policy_type, key = attached[kind]
        for policy in self.of_type(policy_type).values():
            targets = policy["Properties"][key]
            if {"Ref": logical_id} in (targets if isinstance(targets, list) else [targets]):
                return self.value(policy["Properties"]["PolicyDocument"])
        return None


@dataclass(frozen=True)
class Request:
    principal: str  # a role's logical-id fragment, or a service principal
    action: str
    resource: str
    expected: str
    context: tuple = ()
    resource_policy_of: str | None = None  # logical-id fragment of the resource whose policy applies
    resource_type: str | None = None
    account: str = ACCOUNT
    resource_policy: dict | None = None  # a policy given literally, for a resource the stack does not own


def simulate(resolved: Resolved, requests: list[Request]) -> list[str]:
    simulations = []
    for request in requests:
        if "." in request.principal:
            principal, identity = request.principal, []
        else:
            role_id = resolved.logical_id("AWS::IAM::Role", request.principal)
            principal, identity = resolved.arn(role_id), resolved.identity_policies(role_id)
        resource_policy = request.resource_policy
        if request.resource_policy_of:
            resource_policy = resolved.resource_policy(resolved.logical_id(request.resource_type, request.resource_policy_of))
        simulation = {
            "request": {
                "principal": principal,
                "action": request.action,
                "resource": {"resource": request.resource, "accountId": request.account},
                "contextVariables": dict(request.context),
            },
            "identityPolicies": identity,
            "serviceControlPolicies": [],
            "resourceControlPolicies": [],
        }
        if resource_policy is not None:
            simulation["resourcePolicy"] = resource_policy
        simulations.append(simulation)
    completed = subprocess.run(
        ["node", str(PROJECT_ROOT / "tests" / "iam_simulate.mjs")],
        input=json.dumps(simulations), capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120, check=True,
    )
    outcomes = []
    for request, result in zip(requests, json.loads(completed.stdout)):
        assert result["overallResult"] != "Error", (request, result.get("errors"))
        outcomes.append(ALLOWED if result["overallResult"] == "Allowed" else DENIED)
    return outcomes


def glue_requests(resolved: Resolved) -> list[Request]:
    raw, curated = "arn:aws:s3:::example-travel-raw-prod", "arn:aws:s3:::example-travel-curated-prod"
    job = resolved.name(resolved.logical_id("AWS::Glue::Job", "EtlJob"))
    log_group = resolved.name(resolved.logical_id("AWS::Logs::LogGroup", "EtlJobErrorLogs"))
    job_key = resolved.arn(resolved.logical_id("AWS::KMS::Key", "EtlJobKey"))
    messaging_key = resolved.arn(resolved.logical_id("AWS::KMS::Key", "MessagingKey"))
    script = resolved.value(resolved.resources[resolved.logical_id("AWS::Glue::Job", "EtlJob")]["Properties"]["Command"]["ScriptLocation"])
    script_arn = "arn:aws:s3:::" + script.removeprefix("s3://")
    glue = f"arn:aws:glue:{REGION}:{ACCOUNT}"
    role = "EtlJobRole"

    def key(action, arn=job_key):
        return Request(role, action, arn, ALLOWED, resource_policy_of="EtlJobKey", resource_type="AWS::KMS::Key")

    return [
        # Reading the source: objects, the folder key Hadoop probes, listing with and without a prefix.
        Request(role, "s3:GetObject", f"{raw}/complaints/2026/11/22/batch-0001.json", ALLOWED),
        Request(role, "s3:GetObject", f"{raw}/complaints", ALLOWED),
        Request(role, "s3:ListBucket", raw, ALLOWED, (("s3:prefix", "complaints/"), ("s3:delimiter", "/"))),
        Request(role, "s3:ListBucket", raw, ALLOWED),
        # Writing Parquet and quarantine JSON: temporary files, renames, multipart uploads, markers.
        Request(role, "s3:PutObject", f"{curated}/complaints/complaint_date=2026-11-22/part-00000.snappy.parquet", ALLOWED),
        Request(role, "s3:PutObject", f"{curated}/complaints/_temporary/0/_temporary/attempt_0/part-00000", ALLOWED),
        Request(role, "s3:GetObject", f"{curated}/complaints/_temporary/0/task_0/part-00000", ALLOWED),
        Request(role, "s3:DeleteObject", f"{curated}/complaints/_temporary/0/task_0/part-00000", ALLOWED),
        Request(role, "s3:AbortMultipartUpload", f"{curated}/complaints/complaint_date=2026-11-22/part-00001.snappy.parquet", ALLOWED),
        Request(role, "s3:PutObject", f"{curated}/complaints_$folder$", ALLOWED),
        Request(role, "s3:GetObject", f"{curated}/complaints", ALLOWED),
        Request(role, "s3:PutObject", f"{curated}/complaints_quarantine/part-00000.json", ALLOWED),
        Request(role, "s3:ListBucket", curated, ALLOWED, (("s3:prefix", "complaints_quarantine/"),)),
        Request(role, "s3:GetObject", script_arn, ALLOWED),
        # The catalog, its logs, its key, data quality results and metrics.
        Request(role, "glue:GetTable", f"{glue}:table/travel/complaints", ALLOWED),
        Request(role, "glue:GetDatabase", f"{glue}:database/travel", ALLOWED),
        Request(role, "logs:CreateLogStream", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{log_group}:log-stream:jr_0123", ALLOWED),
        Request(role, "logs:PutLogEvents", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{log_group}:log-stream:jr_0123", ALLOWED),
        # Its key, as the security configuration uses it for the bookmarks' client-side encryption
        # (AWS Glue Developer Guide, "Setting up encryption in AWS Glue"), and its description.
        key("kms:GenerateDataKey"),
        key("kms:Decrypt"),
        key("kms:Encrypt"),
        key("kms:DescribeKey"),
        Request(role, "glue:PublishDataQuality", f"{glue}:dataQualityRuleset/{job}", ALLOWED),
        Request(role, "cloudwatch:PutMetricData", "*", ALLOWED, (("cloudwatch:namespace", "Glue"),)),
        Request(role, "cloudwatch:PutMetricData", "*", ALLOWED, (("cloudwatch:namespace", "GlueEtlPipeline"),)),
        # Iceberg on the Glue Data Catalog: the two tables the job creates, loads and commits to, and
        # their metadata and data files under the configured locations.
        Request(role, "glue:CreateTable", f"{glue}:table/travel/complaints_curated", ALLOWED),
        Request(role, "glue:GetTable", f"{glue}:table/travel/complaints_curated", ALLOWED),
        Request(role, "glue:UpdateTable", f"{glue}:table/travel/complaints_curated", ALLOWED),
        Request(role, "glue:UpdateTable", f"{glue}:table/travel/complaints_quarantine", ALLOWED),
        Request(role, "s3:PutObject", f"{curated}/complaints/metadata/00001-3f1c.metadata.json", ALLOWED),
        Request(role, "s3:PutObject", f"{curated}/complaints/data/complaint_date=2026-11-22/00000-0-3f1c-00001.parquet", ALLOWED),
        Request(role, "s3:GetObject", f"{curated}/complaints_quarantine/metadata/snap-1-1-3f1c.avro", ALLOWED),
        Request(role, "s3:DeleteObject", f"{curated}/complaints/metadata/00000-1e2d.metadata.json", ALLOWED),
        Request(role, "glue:CreateTable", f"{glue}:table/travel/payments", DENIED),
        Request(role, "glue:DeleteTable", f"{glue}:table/travel/complaints_curated", DENIED),
        Request(role, "glue:CreateDatabase", f"{glue}:database/travel", DENIED),
        Request(role, "glue:UpdateTable", f"{glue}:table/analytics/complaints_curated", DENIED),
        # Refused: other prefixes and buckets, writing the source, other tables, namespaces, groups, keys.
        Request(role, "s3:GetObject", f"{raw}/other-team/secret.json", DENIED),
        Request(role, "s3:PutObject", f"{raw}/complaints/2026/11/22/injected.json", DENIED),
        Request(role, "s3:DeleteObject", f"{raw}/complaints/2026/11/22/batch-0001.json", DENIED),
        Request(role, "s3:PutObject", f"{curated}/other-table/part-00000.parquet", DENIED),
        Request(role, "s3:GetObject", "arn:aws:s3:::someone-elses-bucket/complaints/x.json", DENIED),
        Request(role, "s3:ListBucket", "arn:aws:s3:::someone-elses-bucket", DENIED),
        Request(role, "s3:DeleteBucket", curated, DENIED),
        Request(role, "glue:GetTable", f"{glue}:table/travel/payments", DENIED),
        Request(role, "glue:UpdateTable", f"{glue}:table/travel/complaints", DENIED),
        Request(role, "glue:StartJobRun", f"{glue}:job/{job}", DENIED),
        Request(role, "cloudwatch:PutMetricData", "*", DENIED, (("cloudwatch:namespace", "Billing"),)),
        Request(role, "logs:PutLogEvents", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws-glue/jobs/another-job/error:log-stream:x", DENIED),
        Request(role, "kms:Decrypt", messaging_key, DENIED, resource_policy_of="MessagingKey", resource_type="AWS::KMS::Key"),
    ]


def workflow_requests(resolved: Resolved) -> list[Request]:
    job = resolved.name(resolved.logical_id("AWS::Glue::Job", "EtlJob"))
    topic = resolved.arn(resolved.logical_id("AWS::SNS::Topic", "AlertsTopic"))
    key = resolved.arn(resolved.logical_id("AWS::KMS::Key", "MessagingKey"))
    glue = f"arn:aws:glue:{REGION}:{ACCOUNT}"
    role = "WorkflowStateMachineRole"
    return [
        Request(role, "glue:StartJobRun", f"{glue}:job/{job}", ALLOWED),
        Request(role, "glue:GetJobRun", f"{glue}:job/{job}", ALLOWED),
        Request(role, "glue:BatchStopJobRun", f"{glue}:job/{job}", ALLOWED),
        Request(role, "sns:Publish", topic, ALLOWED, resource_policy_of="AlertsTopic", resource_type="AWS::SNS::Topic"),
        Request(role, "kms:GenerateDataKey", key, ALLOWED, resource_policy_of="MessagingKey", resource_type="AWS::KMS::Key"),
        Request(role, "kms:Decrypt", key, ALLOWED, resource_policy_of="MessagingKey", resource_type="AWS::KMS::Key"),
        Request(role, "glue:StartJobRun", f"{glue}:job/another-job", DENIED),
        Request(role, "glue:DeleteJob", f"{glue}:job/{job}", DENIED),
        Request(role, "sns:Publish", f"arn:aws:sns:{REGION}:{ACCOUNT}:another-topic", DENIED),
        Request(role, "states:StartExecution", f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:another", DENIED),
    ]


def alarm_requests(resolved: Resolved) -> list[Request]:
    topic = resolved.arn(resolved.logical_id("AWS::SNS::Topic", "AlertsTopic"))
    key = resolved.arn(resolved.logical_id("AWS::KMS::Key", "MessagingKey"))
    alarm = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:glue-etl-pipeline-prod-executions-failed"
    ours = (("aws:SourceAccount", ACCOUNT), ("aws:SourceArn", alarm))
    theirs = (("aws:SourceAccount", OTHER_ACCOUNT), ("aws:SourceArn", alarm.replace(ACCOUNT, OTHER_ACCOUNT)))
    service = "cloudwatch.amazonaws.com"
    return [
        Request(service, "sns:Publish", topic, ALLOWED, ours, "AlertsTopic", "AWS::SNS::Topic"),
        Request(service, "kms:GenerateDataKey", key, ALLOWED, ours, "MessagingKey", "AWS::KMS::Key"),
        Request(service, "kms:Decrypt", key, ALLOWED, ours, "MessagingKey", "AWS::KMS::Key"),
        Request(service, "sns:Publish", topic, DENIED, theirs, "AlertsTopic", "AWS::SNS::Topic"),
        Request(service, "kms:GenerateDataKey", key, DENIED, theirs, "MessagingKey", "AWS::KMS::Key"),
    ]


def schedule_requests(resolved: Resolved) -> list[Request]:
    state_machine = resolved.arn(resolved.logical_id("AWS::StepFunctions::StateMachine", "Workflow"))
    queue = resolved.arn(resolved.logical_id("AWS::SQS::Queue", "ScheduleDeadLetterQueue"))
    key = resolved.arn(resolved.logical_id("AWS::KMS::Key", "MessagingKey"))
    rule = resolved.arn(resolved.logical_id("AWS::Events::Rule", "Schedule"))
    service = "events.amazonaws.com"
    with_rule = (("aws:SourceArn", rule), ("aws:SourceAccount", ACCOUNT))
    # What is sent with a KMS request made for SQS is undocumented: with the rule as source, or nothing.
    another_account = (("aws:SourceArn", rule.replace(ACCOUNT, OTHER_ACCOUNT)), ("aws:SourceAccount", OTHER_ACCOUNT))
    role = "WorkflowStateMachineEventsRole"
    return [
        Request(role, "states:StartExecution", state_machine, ALLOWED),
        Request(role, "states:StartExecution", f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:another", DENIED),
        Request(role, "glue:StartJobRun", f"arn:aws:glue:{REGION}:{ACCOUNT}:job/anything", DENIED),
        Request(service, "sqs:SendMessage", queue, ALLOWED, with_rule, "ScheduleDeadLetterQueue", "AWS::SQS::Queue"),
        Request(service, "sqs:SendMessage", queue, DENIED, another_account, "ScheduleDeadLetterQueue", "AWS::SQS::Queue"),
        Request(service, "kms:GenerateDataKey", key, ALLOWED, with_rule, "MessagingKey", "AWS::KMS::Key"),
        Request(service, "kms:GenerateDataKey", key, ALLOWED, (), "MessagingKey", "AWS::KMS::Key"),
        Request(service, "kms:Decrypt", key, ALLOWED, with_rule, "MessagingKey", "AWS::KMS::Key"),
        Request(service, "kms:GenerateDataKey", key, DENIED, another_account, "MessagingKey", "AWS::KMS::Key"),
    ]


def event_path_requests(resolved: Resolved) -> list[Request]:
    state_machine = resolved.arn(resolved.logical_id("AWS::StepFunctions::StateMachine", "Workflow"))
    queue = resolved.arn(resolved.logical_id("AWS::SQS::Queue", "ObjectCreatedDeadLetterQueue"))
    key = resolved.arn(resolved.logical_id("AWS::KMS::Key", "MessagingKey"))
    role = "ObjectCreatedRole"
    execution_prefix = state_machine.replace(":stateMachine:", ":execution:")
    return [
        Request(role, "states:StartExecution", state_machine, ALLOWED),
        # A replayed event reads the status of its window's execution.
        Request(role, "states:DescribeExecution", f"{execution_prefix}:s3-window-20261121T1020Z-5m", ALLOWED),
        Request(role, "sqs:SendMessage", queue, ALLOWED, (), "ObjectCreatedDeadLetterQueue", "AWS::SQS::Queue"),
        Request(role, "kms:GenerateDataKey", key, ALLOWED, (), "MessagingKey", "AWS::KMS::Key"),
        Request(role, "states:StartExecution", f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:another", DENIED),
        Request(role, "states:StopExecution", f"{execution_prefix}:x", DENIED),
        Request(role, "states:DescribeExecution", f"arn:aws:states:{REGION}:{ACCOUNT}:execution:another:x", DENIED),
        Request(role, "glue:StartJobRun", f"arn:aws:glue:{REGION}:{ACCOUNT}:job/anything", DENIED),
        Request(role, "s3:GetObject", f"arn:aws:s3:::{resolved.name(resolved.logical_id('AWS::S3::Bucket', 'RawDataBucket'))}/x.json", DENIED),
    ]


def failure_report_requests(resolved: Resolved) -> list[Request]:
    job = resolved.name(resolved.logical_id("AWS::Glue::Job", "EtlJob"))
    topic = resolved.arn(resolved.logical_id("AWS::SNS::Topic", "AlertsTopic"))
    key = resolved.arn(resolved.logical_id("AWS::KMS::Key", "MessagingKey"))
    state_machine = resolved.arn(resolved.logical_id("AWS::StepFunctions::StateMachine", "Workflow"))
    executions = state_machine.replace(":stateMachine:", ":execution:")
    glue = f"arn:aws:glue:{REGION}:{ACCOUNT}"
    role = "FailureReportsRole"
    return [
        Request(role, "states:DescribeExecution", f"{executions}:4f0c1f8e-run", ALLOWED),
        Request(role, "glue:GetJobRun", f"{glue}:job/{job}", ALLOWED),
        Request(role, "sns:Publish", topic, ALLOWED, resource_policy_of="AlertsTopic", resource_type="AWS::SNS::Topic"),
        Request(role, "kms:GenerateDataKey", key, ALLOWED, resource_policy_of="MessagingKey", resource_type="AWS::KMS::Key"),
        Request(role, "states:DescribeExecution", f"arn:aws:states:{REGION}:{ACCOUNT}:execution:another:x", DENIED),
        Request(role, "states:StartExecution", state_machine, DENIED),
        Request(role, "glue:GetJobRun", f"{glue}:job/another-job", DENIED),
        Request(role, "glue:StartJobRun", f"{glue}:job/{job}", DENIED),
        Request(role, "sns:Publish", f"arn:aws:sns:{REGION}:{ACCOUNT}:another-topic", DENIED),
    ]


def access_log_delivery_requests(resolved: Resolved) -> list[Request]:
    """S3's log delivery writes the raw bucket's access logs under raw-data/ of the access-log bucket
    (Amazon S3 User Guide, "Enabling Amazon S3 server access logging": the bucket policy names the
    source bucket in aws:SourceArn and its account in aws:SourceAccount); nothing else may."""
    logs_bucket = resolved.arn(resolved.logical_id("AWS::S3::Bucket", "RawDataAccessLogs"))
    raw_bucket = resolved.arn(resolved.logical_id("AWS::S3::Bucket", "RawDataBucket"))
    log_object = f"{logs_bucket}/raw-data/2026-11-21-10-20-00-0123456789ABCDEF"
    service = "logging.s3.amazonaws.com"
    ours = (("aws:SourceArn", raw_bucket), ("aws:SourceAccount", ACCOUNT))

    def delivery(action, resource, expected, context=ours):
        return Request(service, action, resource, expected, context, "RawDataAccessLogs", "AWS::S3::Bucket")

    return [
        delivery("s3:PutObject", log_object, ALLOWED),
        delivery("s3:PutObject", f"{logs_bucket}/elsewhere/2026-11-21-10-20-00-0123456789ABCDEF", DENIED),
        delivery("s3:PutObject", log_object, DENIED, (("aws:SourceArn", "arn:aws:s3:::another-bucket"), ("aws:SourceAccount", ACCOUNT))),
        delivery("s3:PutObject", log_object, DENIED, (("aws:SourceArn", raw_bucket), ("aws:SourceAccount", OTHER_ACCOUNT))),
        delivery("s3:PutObject", log_object, DENIED, ()),
        delivery("s3:DeleteObject", log_object, DENIED),
        delivery("s3:GetObject", log_object, DENIED),
    ]


PRINCIPALS = {
    "PROD": {"glue job": glue_requests, "failure reports": failure_report_requests, "state machine": workflow_requests, "alarms": alarm_requests, "schedule": schedule_requests},
    "DEV": {"start-pipeline lambda": event_path_requests, "s3 log delivery": access_log_delivery_requests},
}


@pytest.mark.skipif(shutil.which("node") is None, reason="the simulator runs on Node.js, installed by make test")
@pytest.mark.parametrize(("environment", "principal"), [(e, p) for e, table in PRINCIPALS.items() for p in table])
def test_every_request_of_a_run_is_allowed_and_everything_else_refused(templates, environment, principal):
    resolved = Resolved(templates[environment].to_json(), f"GlueEtlPipeline-{environment}")
    requests = PRINCIPALS[environment][principal](resolved)
    outcomes = simulate(resolved, requests)
    wrong = [(r.action, r.resource, r.expected, got) for r, got in zip(requests, outcomes) if got != r.expected]
    assert wrong == []
    assert {r.expected for r in requests} == {ALLOWED, DENIED}, "each principal's table proves both ways"


def test_the_simulator_refuses_what_a_broadened_policy_would_allow(templates):
    """The check can fail: a statement widened to the whole source bucket lets the write through."""
    template = json.loads(json.dumps(templates["PROD"].to_json()))
    for policy in template["Resources"].values():
        if policy["Type"] == "AWS::IAM::Policy":
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                if statement["Action"] == "s3:GetObject" or statement["Action"] == ["s3:GetObject"]:
                    statement["Action"] = ["s3:GetObject", "s3:PutObject"]
                    statement["Resource"] = "arn:aws:s3:::example-travel-raw-prod/*"
    resolved = Resolved(template, "GlueEtlPipeline-PROD")
    (outcome,) = simulate(resolved, [Request("EtlJobRole", "s3:PutObject", "arn:aws:s3:::example-travel-raw-prod/complaints/x", DENIED)])
    assert outcome == ALLOWED


@pytest.mark.parametrize("environment", ["DEV", "PROD"])
def test_the_log_key_names_each_log_group_exactly_and_no_longer_name(templates, environment):
    """Checked on the resolved key policy, not simulated: the simulator drops `kms:EncryptionContext:<key>`
    context keys (it expands only `/`-separated variable keys), so it would refuse every request.

    ArnEquals compares the whole ARN (IAM User Guide, "IAM JSON policy elements: Condition operators",
    ARN condition operators), so a name that merely starts with a group's name does not match.
    """
    resolved = Resolved(templates[environment].to_json(), f"GlueEtlPipeline-{environment}")
    key_policy = resolved.resource_policy(resolved.logical_id("AWS::KMS::Key", "EtlJobKey"))
    logs_principal = {"Service": f"logs.{REGION}.amazonaws.com"}
    allowed = [
        statement["Condition"] for statement in key_policy["Statement"] if statement.get("Principal") == logs_principal
    ]
    assert all(list(condition) == ["ArnEquals"] for condition in allowed)
    named = sorted(condition["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"] for condition in allowed)
    groups = sorted(
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{resolved.name(group)}" for group in resolved.of_type("AWS::Logs::LogGroup")
    )
    assert named == groups and all("*" not in arn and "?" not in arn for arn in named)
    longer = [arn.replace("/error", "-backfill/error") for arn in groups if arn.endswith("/error")] + [f"{arn}-backfill" for arn in groups]
    assert not set(longer) & set(named)


SOURCE_KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
DESTINATION_KEY = "arn:aws:kms:eu-west-1:123456789012:key/0987dcba-09fe-87dc-65ba-ab0987654321"
VIA_S3 = (("kms:ViaService", f"s3.{REGION}.amazonaws.com"),)


def customer_key_requests(keys_configured: bool) -> list[Request]:
    """The job role's use of the producer's and the destination's keys: through S3 only, each for its purpose.

    The keys' own policies belong to their owners (who must allow the job role, see README); the
    simulation covers what this stack grants, the identity policy.
    """
    granted = ALLOWED if keys_configured else DENIED
    role = "EtlJobRole"
    # A key's default policy: the account's IAM policies decide (AWS KMS Developer Guide, "Default key policy").
    default_key_policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}],
    }

    def use(action: str, key: str, expected: str, context=VIA_S3) -> Request:
        return Request(role, action, key, expected, context, resource_policy=default_key_policy)

    return [
        use("kms:Decrypt", SOURCE_KEY, granted),
        use("kms:GenerateDataKey", DESTINATION_KEY, granted),
        use("kms:Encrypt", DESTINATION_KEY, granted),
        use("kms:Decrypt", DESTINATION_KEY, granted),
        # Refused: the keys outside S3, the source key for writing, other keys, key administration.
        use("kms:Decrypt", SOURCE_KEY, DENIED, ()),
        use("kms:GenerateDataKey", DESTINATION_KEY, DENIED, (("kms:ViaService", f"sqs.{REGION}.amazonaws.com"),)),
        use("kms:GenerateDataKey", SOURCE_KEY, DENIED),
        use("kms:Encrypt", SOURCE_KEY, DENIED),
        use("kms:Decrypt", SOURCE_KEY.replace("1234abcd", "99999999"), DENIED),
        use("kms:ScheduleKeyDeletion", DESTINATION_KEY, DENIED),
        use("kms:CreateGrant", DESTINATION_KEY, DENIED),
    ]


@pytest.mark.skipif(shutil.which("node") is None, reason="the simulator runs on Node.js, installed by make test")
@pytest.mark.parametrize("environment", ["KEYS", "PROD"])
def test_the_job_may_use_the_configured_customer_keys_through_s3_and_nothing_else(templates, variant_templates, environment):
    template = variant_templates["KEYS"] if environment == "KEYS" else templates["PROD"]
    resolved = Resolved(template.to_json(), f"GlueEtlPipeline-{environment}")
    requests = customer_key_requests(keys_configured=environment == "KEYS")
    outcomes = simulate(resolved, requests)
    assert [(r.action, r.resource, r.context, got) for r, got in zip(requests, outcomes) if got != r.expected] == []
