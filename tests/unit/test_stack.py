"""The synthesized pipeline stack: every resource and property the pipeline promises."""

from __future__ import annotations

import json
import re

import pytest
from aws_cdk.assertions import Match

from glue_etl_pipeline.config import RETRY_POLICY
from tests.helpers import PROJECT_ROOT, only_resource, policy_statements, resource_named
from tests.workflow.conftest import definition_with_tokens_resolved


def definition_of(template) -> dict:
    """The state machine definition with its CloudFormation tokens replaced by placeholders."""
    parts = only_resource(template, "AWS::StepFunctions::StateMachine")["Properties"]["DefinitionString"]["Fn::Join"][1]
    return json.loads("".join(part if isinstance(part, str) else "TOKEN" for part in parts))


def joined(value) -> str:
    """A Fn::Join rendered as text, tokens shown as ${Ref} or ${Resource.Attr}."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        return "".join(joined(part) for part in value["Fn::Join"][1])
    if "Ref" in value:
        return "${" + value["Ref"] + "}"
    if "Fn::GetAtt" in value:
        return "${" + ".".join(value["Fn::GetAtt"]) + "}"
    if "Fn::Sub" in value:
        return value["Fn::Sub"]
    if value == STACK_INSTANCE:
        return "${StackInstance}"
    raise AssertionError(f"unexpected intrinsic {value}")


# The last group of the stack id's UUID (glue_etl_pipeline.naming.stack_instance_id).
STACK_INSTANCE = {"Fn::Select": [4, {"Fn::Split": ["-", {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}]}]}


def test_one_stack_per_environment(templates):
    assert sorted(templates) == ["DEV", "PROD", "TEST"]


# --- Glue job ---------------------------------------------------------------------------------

def test_glue_job_is_glue5_pyspark_with_configured_workers(templates):
    for env, workers in (("DEV", 2), ("TEST", 2), ("PROD", 4)):
        job = only_resource(templates[env], "AWS::Glue::Job")["Properties"]
        assert job["Command"]["Name"] == "glueetl" and job["Command"]["PythonVersion"] == "3"
        assert (job["GlueVersion"], job["WorkerType"], job["NumberOfWorkers"]) == ("5.0", "G.1X", workers)


def test_glue_job_runs_one_at_a_time_with_queuing(prod_template):
    job = only_resource(prod_template, "AWS::Glue::Job")["Properties"]
    assert job["ExecutionProperty"] == {"MaxConcurrentRuns": 1}
    assert job["JobRunQueuingEnabled"] is True


def test_a_failed_run_is_retried_by_the_workflow_alone_never_by_glue_itself(templates, variant_templates):
    """Glue's own retries would multiply the workflow's attempts. CDK forces MaxRetries to 0 with run
    queuing on; a Flex job has no queue, so its 0 is the stack's own (AWS Glue API, Job "MaxRetries")."""
    for name, template in {**templates, "FLEX": variant_templates["FLEX"]}.items():
        assert only_resource(template, "AWS::Glue::Job")["Properties"]["MaxRetries"] == 0, name


def test_the_console_describes_the_job_and_its_role_by_what_they_do(templates):
    for name, template in templates.items():
        job = only_resource(template, "AWS::Glue::Job")["Properties"]
        assert job["Description"] == f"Reads travel.complaints (JSON) and writes Parquet ({name})"
        (role,) = [
            r["Properties"] for r in template.find_resources("AWS::IAM::Role").values()
            if r["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "glue.amazonaws.com"}
        ]
        assert role["Description"] == f"Runs the {name} JSON-to-Parquet Glue job"


def test_state_machine_timeout_counts_the_window_a_queued_run_and_every_attempt(templates):
    for name, window in (("PROD", 0), ("TEST", 5), ("DEV", 5)):
        job = only_resource(templates[name], "AWS::Glue::Job")["Properties"]
        state_machine_seconds = definition_of(templates[name])["TimeoutSeconds"]
        attempts_seconds = job["Timeout"] * 60 * RETRY_POLICY.total_attempts + RETRY_POLICY.longest_total_wait_seconds
        assert job["Timeout"] == 25
        # The window, one run's attempts queued ahead in Glue, then our own: 2 x 6,070 s, rounded up to 203 minutes.
        assert window * 60 + 2 * attempts_seconds <= state_machine_seconds < window * 60 + 2 * attempts_seconds + 60
        assert state_machine_seconds == (window + 203) * 60


def test_glue_job_arguments_bookmarks_logging_and_metrics(prod_template):
    arguments = only_resource(prod_template, "AWS::Glue::Job")["Properties"]["DefaultArguments"]
    assert arguments["--dbname"] == "travel"
    assert arguments["--table"] == "complaints"
    assert arguments["--outputpath"] == "s3://example-travel-curated-prod/complaints/"
    assert arguments["--quarantinepath"] == "s3://example-travel-curated-prod/complaints_quarantine/"
    assert arguments["--max_quarantine_fraction"] == "0.1"
    assert arguments["--max_bytes_per_run"] == str(10 * 1024**3)  # bounded execution: 10 GiB of new files per run
    assert arguments["--job-bookmark-option"] == "job-bookmark-enable"
    assert arguments["--enable-continuous-cloudwatch-log"] == "true"
    assert "--enable-metrics" in arguments
    assert arguments["--enable-observability-metrics"] == "true"
    assert joined(arguments["--custom-logGroup-prefix"]) == (
        "/aws-glue/jobs/json-to-pq-prod-${AWS::AccountId}-${AWS::Region}-${StackInstance}"
    )


def test_the_job_writes_iceberg_tables_through_the_glue_data_catalog(prod_template, variant_templates):
    arguments = only_resource(prod_template, "AWS::Glue::Job")["Properties"]["DefaultArguments"]
    assert arguments["--datalake-formats"] == "iceberg"
    assert (arguments["--catalog"], arguments["--curated_table"], arguments["--quarantine_table"]) == (
        "glue_catalog", "travel.complaints_curated", "travel.complaints_quarantine",
    )
    settings = dict(part.split("=", 1) for part in arguments["--conf"].split(" --conf "))
    assert settings == {
        "spark.sql.extensions": "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
        "spark.sql.catalog.glue_catalog": "org.apache.iceberg.spark.SparkCatalog",
        "spark.sql.catalog.glue_catalog.catalog-impl": "org.apache.iceberg.aws.glue.GlueCatalog",
        "spark.sql.catalog.glue_catalog.io-impl": "org.apache.iceberg.aws.s3.S3FileIO",
        "spark.sql.catalog.glue_catalog.warehouse": "s3://example-travel-curated-prod/complaints/",
        "spark.sql.catalog.glue_catalog.s3.sse.type": "s3",
    }
    # Iceberg writes through S3FileIO, which the security configuration does not reach: the key goes there too.
    keyed = only_resource(variant_templates["KEYS"], "AWS::Glue::Job")["Properties"]["DefaultArguments"]["--conf"]
    assert keyed.endswith(
        " --conf spark.sql.catalog.glue_catalog.s3.sse.type=kms --conf spark.sql.catalog.glue_catalog.s3.sse.key=" + DESTINATION_KEY
    )
    # The job creates and evolves the tables: CloudFormation holds none (a stack update cannot break them).
    prod_template.resource_count_is("AWS::Glue::Table", 0)


def test_the_job_may_create_and_update_only_its_two_tables(prod_template, variant_templates):
    (tables,) = [s for s in glue_statements(prod_template) if s.get("Sid") == "OwnIcebergTables"]
    assert actions_of(tables) == {"glue:GetDatabase", "glue:GetTable", "glue:CreateTable", "glue:UpdateTable"}
    assert sorted(resources_of(tables)) == [
        "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:catalog",
        "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:database/travel",
        "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:table/travel/complaints_curated",
        "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:table/travel/complaints_quarantine",
    ]
    (renamed,) = [s for s in glue_statements(variant_templates["CATALOG"]) if s.get("Sid") == "OwnIcebergTables"]
    assert sorted(resources_of(renamed))[1:] == [
        "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:database/analytics",
        "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:table/analytics/complaints_clean",
        "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:table/analytics/complaints_rejected",
    ]


def test_glue_job_name_carries_environment_account_and_region(templates):
    for env in templates:
        name = joined(only_resource(templates[env], "AWS::Glue::Job")["Properties"]["Name"])
        assert name == f"json-to-pq-{env.lower()}-${{AWS::AccountId}}-${{AWS::Region}}"


def test_glue_job_name_is_literal_when_account_and_region_are_pinned(variant_templates):
    job = only_resource(variant_templates["EMAIL"], "AWS::Glue::Job")["Properties"]
    assert job["Name"] == "json-to-pq-email-123456789012-eu-west-1"
    assert (job["WorkerType"], job["NumberOfWorkers"], job["Timeout"]) == ("G.2X", 5, 29)


def test_every_log_group_has_retention(templates):
    for template in templates.values():
        for group in template.find_resources("AWS::Logs::LogGroup").values():
            assert group["Properties"]["RetentionInDays"] == 90


def test_glue_and_workflow_log_group_names(prod_template):
    groups = prod_template.find_resources("AWS::Logs::LogGroup")
    names = sorted(joined(group["Properties"]["LogGroupName"]) for group in groups.values())
    assert names == [
        "/aws-glue/jobs/json-to-pq-prod-${AWS::AccountId}-${AWS::Region}-${StackInstance}/error",
        "/aws-glue/jobs/json-to-pq-prod-${AWS::AccountId}-${AWS::Region}-${StackInstance}/output",
        "/aws/lambda/glue-etl-pipeline-prod-report-failure-${StackInstance}",
        "/aws/vendedlogs/states/glue-etl-pipeline-prod-${StackInstance}",
    ]


# --- IAM: least privilege ---------------------------------------------------------------------

def test_glue_role_has_no_managed_policies_and_trusts_only_glue(prod_template):
    roles = prod_template.find_resources("AWS::IAM::Role", {"Properties": {"AssumeRolePolicyDocument": {
        "Statement": [Match.object_like({"Principal": {"Service": "glue.amazonaws.com"}})]}}})
    (role,) = roles.values()
    assert "ManagedPolicyArns" not in role["Properties"]


def test_no_role_of_ours_uses_aws_managed_policies(templates):
    for template in templates.values():
        for logical_id, role in template.find_resources("AWS::IAM::Role").items():
            if logical_id.startswith("BucketNotificationsHandler"):
                continue  # CDK's own handler that turns on the bucket's EventBridge notifications
            assert "ManagedPolicyArns" not in role["Properties"], logical_id


def glue_statements(template) -> list[dict]:
    return policy_statements(template, "EtlJobRole")


def resources_of(statement) -> list[str]:
    resources = statement["Resource"]
    return [joined(resource) for resource in (resources if isinstance(resources, list) else [resources])]


def actions_of(statement) -> set[str]:
    actions = statement["Action"]
    return set(actions if isinstance(actions, list) else [actions])


def test_glue_role_reads_only_the_source_prefix_and_writes_only_output_and_quarantine(prod_template):
    object_grants = {}
    for statement in glue_statements(prod_template):
        for resource in resources_of(statement):
            if resource.startswith("arn:${AWS::Partition}:s3:::example-travel"):
                object_grants.setdefault(resource, set()).update(actions_of(statement))
    raw, curated = "arn:${AWS::Partition}:s3:::example-travel-raw-prod", "arn:${AWS::Partition}:s3:::example-travel-curated-prod"
    writes = {"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"}
    assert object_grants == {
        f"{raw}/complaints/*": {"s3:GetObject"},
        f"{raw}/complaints": {"s3:GetObject"},  # the folder key Hadoop's clients probe
        f"{raw}/complaints_$folder$": {"s3:GetObject"},
        raw: {"s3:ListBucket"},
        f"{curated}/complaints/*": writes,
        f"{curated}/complaints": writes,
        f"{curated}/complaints_$folder$": writes,
        f"{curated}/complaints_quarantine/*": writes,
        f"{curated}/complaints_quarantine": writes,
        f"{curated}/complaints_quarantine_$folder$": writes,
        curated: {"s3:ListBucket"},
    }
    # Unconditioned, so that a missing key is a 404 and not a 403 (see etl_job._grant_s3).
    assert all("Condition" not in s for s in glue_statements(prod_template) if actions_of(s) == {"s3:ListBucket"})


def test_glue_role_reads_only_its_own_script_assets(prod_template):
    object_resources = [
        r
        for s in glue_statements(prod_template)
        for r in resources_of(s)
        if "cdk-hnb659fds-assets" in r and "/" in r.split(":::", 1)[1]
    ]
    assert sorted(r.rsplit(".", 1)[1] for r in object_resources) == ["py", "zip"]
    assert not any(r.endswith("/*") for r in object_resources)


def test_the_deploy_log_names_the_jobs_uploads_for_what_they_are(prod_template, assembly_dir):
    # `cdk deploy` reports each asset it publishes under its display name.
    manifest = json.loads((assembly_dir / "GlueEtlPipeline-PROD.assets.json").read_text(encoding="utf-8"))
    shown = {asset["source"]["path"].rsplit(".", 1)[-1]: asset["displayName"] for asset in manifest["files"].values()}
    assert (shown["py"], shown["zip"]) == ("EtlJob/entrypoint", "EtlJob/package")


def test_glue_role_reads_only_its_database_and_table(prod_template):
    (catalog,) = [s for s in glue_statements(prod_template) if s.get("Sid") == "ReadOwnCatalogTable"]
    assert actions_of(catalog) == {"glue:GetDatabase", "glue:GetTable", "glue:GetPartition", "glue:GetPartitions"}
    assert sorted(resources_of(catalog)) == [
        "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:catalog",
        "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:database/travel",
        "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:table/travel/complaints",
    ]


def test_only_resource_wildcard_on_glue_role_is_namespaced_put_metric_data(prod_template):
    wildcards = [s for s in glue_statements(prod_template) if "*" in resources_of(s)]
    assert wildcards == [
        {
            "Action": "cloudwatch:PutMetricData",
            "Condition": {"StringEquals": {"cloudwatch:namespace": ["Glue", "Glue Data Quality", "GlueEtlPipeline"]}},
            "Effect": "Allow",
            "Resource": "*",
            "Sid": "PublishGlueMetrics",
        }
    ]
    assert not any("*" in actions_of(s) or any(a.endswith(":*") for a in actions_of(s)) for s in glue_statements(prod_template))


def test_glue_role_may_publish_data_quality_results(prod_template):
    (publish,) = [s for s in glue_statements(prod_template) if actions_of(s) == {"glue:PublishDataQuality"}]
    assert resources_of(publish) == ["arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:dataQualityRuleset/*"]


def test_ruleset_is_registered_on_the_catalog_table(prod_template):
    ruleset = only_resource(prod_template, "AWS::Glue::DataQualityRuleset")["Properties"]
    assert ruleset["TargetTable"] == {"DatabaseName": "travel", "TableName": "complaints"}
    assert ruleset["Ruleset"] == (PROJECT_ROOT / "gluescripts" / "ruleset.dqdl").read_text(encoding="utf-8")
    # What Glue Data Quality's console shows beside the run results.
    assert ruleset["Description"] == "Rules the PROD job applies to travel.complaints"


# --- Step Functions ---------------------------------------------------------------------------

def test_state_machine_is_standard_with_tracing_and_full_logging(prod_template):
    properties = only_resource(prod_template, "AWS::StepFunctions::StateMachine")["Properties"]
    assert properties["StateMachineType"] == "STANDARD"
    assert properties["TracingConfiguration"] == {"Enabled": True}
    assert properties["LoggingConfiguration"]["Level"] == "ALL"
    assert properties["LoggingConfiguration"]["IncludeExecutionData"] is True
    assert properties["StateMachineName"] == "glue-etl-pipeline-prod"


def test_state_machine_runs_the_job_synchronously_retrying_all_but_data_quality_failures(prod_template):
    definition = definition_of(prod_template)
    first = definition["States"][definition["StartAt"]]
    (window_choice,) = first["Choices"]
    assert window_choice == {"Variable": "$.window.end", "IsPresent": True, "Next": "Wait for the window to close"}
    assert definition["States"]["Wait for the window to close"] == {"Type": "Wait", "TimestampPath": "$.window.end", "Next": "Attempt"}
    assert first["Default"] == "Attempt"
    attempt = definition["States"]["Attempt"]
    assert attempt["Type"] == "Parallel" and attempt["OutputPath"] == "$[0]"
    assert attempt["Retry"] == [
        {"ErrorEquals": ["DataQualityFailed", "GlueJobRunStopped"], "MaxAttempts": 0},
        {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 10, "MaxAttempts": 3, "BackoffRate": 2, "JitterStrategy": "FULL"},
    ]
    assert attempt["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Notify failure"}]
    assert definition["States"][attempt["Next"]] == {"Type": "Succeed"}
    (branch,) = attempt["Branches"]
    run = branch["States"][branch["StartAt"]]
    assert run["Resource"] == "arn:TOKEN:states:::glue:startJobRun.sync" and "Retry" not in run
    assert run["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Classify failure"}]
    quality, stopped = branch["States"]["Classify failure"]["Choices"]
    assert quality == {"Variable": "$.error.Cause", "StringMatches": "*GlueEtlDataQualityFailed*", "Next": "Data quality failed"}
    assert stopped["Next"] == "Job run stopped"  # its cases run in tests/workflow (test_a_failed_task_is_classified_by_its_cause)
    assert branch["States"]["Job run stopped"] == {"Type": "Fail", "Error": "GlueJobRunStopped", "CausePath": "$.error.Cause"}
    assert branch["States"]["Data quality failed"] == {"Type": "Fail", "Error": "DataQualityFailed", "CausePath": "$.error.Cause"}
    assert branch["States"]["Job run failed"] == {"Type": "Fail", "Error": "GlueJobRunFailed", "CausePath": "$.error.Cause"}


def test_failure_path_publishes_a_readable_message_then_fails(prod_template):
    states = definition_of(prod_template)["States"]
    notify = states["Notify failure"]
    assert notify["Resource"] == "arn:TOKEN:states:::sns:publish"
    assert notify["Parameters"]["Subject"] == "[PROD] Glue ETL pipeline failed"
    message = notify["Parameters"]["Message.$"]
    assert message.startswith("States.Format('The Glue ETL pipeline failed in environment {}.")
    for field in ("'PROD'", "$$.StateMachine.Name", "$$.Execution.Id", "$.error.Error", "$.error.Cause"):
        assert field in message
    assert notify["ResultPath"] is None
    assert states[notify["Next"]] == {"Type": "Fail", "Error": "GlueEtlPipelineFailed", "CausePath": "$.error.Cause"}


def test_state_machine_may_run_only_its_job_and_publish_only_to_its_topic(prod_template):
    statements = policy_statements(prod_template, "WorkflowStateMachineRole")
    glue = next(s for s in statements if "glue:StartJobRun" in actions_of(s))
    assert resources_of(glue) == ["arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:job/${EtlJob5EDC7C77}"]
    sns = next(s for s in statements if actions_of(s) == {"sns:Publish"})
    assert sns["Resource"] == {"Ref": "AlertsTopicCF7C81C9"}
    kms = next(s for s in statements if actions_of(s) == {"kms:Decrypt", "kms:GenerateDataKey"})
    assert kms["Resource"] == {"Fn::GetAtt": ["MessagingKey9A79A2B1", "Arn"]}


# --- Schedule ---------------------------------------------------------------------------------

SCHEDULED_EVENT = {
    "version": "0", "id": "89d1a02d-5ec7-412e-82f5-13505f849b41", "detail-type": "Scheduled Event", "source": "aws.events",
    "account": "123456789012", "time": "2026-11-21T10:20:00Z", "region": "eu-west-1", "resources": [], "detail": {},
}


def execution_input(target: dict, event: dict) -> dict:
    """The input EventBridge starts the execution with: each <name> of the template replaced by the
    value at its path, a string quoted (EventBridge User Guide, "Amazon EventBridge input transformation")."""
    text = target["InputTransformer"]["InputTemplate"]
    for name, path in target["InputTransformer"]["InputPathsMap"].items():
        text = text.replace(f"<{name}>", json.dumps(event[path.removeprefix("$.")]))
    return json.loads(text)


def test_schedule_rule_targets_the_state_machine_with_retry_and_dead_letter_queue(prod_template, dev_template):
    rule = resource_named(prod_template, "AWS::Events::Rule", "ScheduleRule")["Properties"]
    assert rule["ScheduleExpression"] == "cron(20 * * * ? *)"
    assert rule["State"] == "ENABLED"
    schedules = dev_template.find_resources("AWS::Events::Rule", {"Properties": {"ScheduleExpression": Match.any_value()}})
    states = {logical_id.split("Rule")[0]: r["Properties"]["State"] for logical_id, r in schedules.items()}
    assert states == {"Schedule": "DISABLED", "CatchUp": "ENABLED"}  # DEV: schedule_enabled = false; catch-up always on
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Ref": "WorkflowStateMachine8F1B1C15"}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 10}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["ScheduleDeadLetterQueueDF9D526B", "Arn"]}}
    # The execution's input names what started it and the event, as an operator reads it in the history.
    assert execution_input(target, SCHEDULED_EVENT) == {"trigger": "schedule", "eventId": SCHEDULED_EVENT["id"], "time": "2026-11-21T10:20:00Z"}


def test_every_environment_fed_by_s3_has_a_daily_catch_up_run(templates):
    for name, template in templates.items():
        catch_ups = [r for i, r in template.find_resources("AWS::Events::Rule").items() if i.startswith("CatchUpRule")]
        if name == "PROD":  # schedule only
            assert catch_ups == []
            continue
        (rule,) = catch_ups
        assert (rule["Properties"]["ScheduleExpression"], rule["Properties"]["State"]) == ("cron(50 3 * * ? *)", "ENABLED")
        (target,) = rule["Properties"]["Targets"]
        assert target["Arn"] == {"Ref": "WorkflowStateMachine8F1B1C15"}
        assert execution_input(target, SCHEDULED_EVENT) == {"trigger": "catch-up", "eventId": SCHEDULED_EVENT["id"], "time": "2026-11-21T10:20:00Z"}
        assert "DeadLetterConfig" in target


def test_configured_rate_schedule_is_used(variant_templates):
    rule = resource_named(variant_templates["EMAIL"], "AWS::Events::Rule", "ScheduleRule")["Properties"]
    assert rule["ScheduleExpression"] == "rate(2 hours)"


def test_dead_letter_queues_are_encrypted_and_ssl_only(prod_template):
    queues = prod_template.find_resources("AWS::SQS::Queue")
    assert sorted(i.split("DeadLetterQueue")[0] for i in queues) == ["FailureReports", "Schedule"]
    for queue_id, queue in queues.items():
        assert queue["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": ["MessagingKey9A79A2B1", "Arn"]}
        assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
        (policy,) = [
            p["Properties"]["PolicyDocument"]["Statement"] for p in prod_template.find_resources("AWS::SQS::QueuePolicy").values()
            if p["Properties"]["Queues"] == [{"Ref": queue_id}]
        ]
        assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in policy)
        assert any(s.get("Principal") == {"Service": "events.amazonaws.com"} and s["Action"] == "sqs:SendMessage" for s in policy)


def test_messaging_key_rotates_and_lets_eventbridge_use_it(prod_template):
    key = prod_template.to_json()["Resources"]["MessagingKey9A79A2B1"]["Properties"]
    assert key["EnableKeyRotation"] is True
    events = [s for s in key["KeyPolicy"]["Statement"] if "events.amazonaws.com" in json.dumps(s.get("Principal"))]
    condition = events[0]["Condition"]
    assert condition["StringEqualsIfExists"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert joined(condition["ArnLikeIfExists"]["aws:SourceArn"]) == "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/*"


def test_each_function_rule_and_alarm_says_in_the_console_which_environment_it_serves(templates):
    """Three environments may share an account: an operator reads a function's, a rule's or an
    alarm's description to know whose it is. CDK's own notifications handler is CDK's to describe."""
    described = {"AWS::Lambda::Function": "Description", "AWS::Events::Rule": "Description", "AWS::CloudWatch::Alarm": "AlarmDescription"}
    for name, template in templates.items():
        for resource_type, key in described.items():
            for logical_id, resource in template.find_resources(resource_type).items():
                if logical_id.startswith("BucketNotificationsHandler"):
                    continue
                description = joined(resource["Properties"].get(key, ""))
                assert re.search(rf"\b{name}\b", description), (name, logical_id, description)


def test_each_functions_role_reads_in_the_console_as_its_function_and_only_lambda_can_take_it(templates):
    """IAM's console lists roles by name and description: a function's role says what the function
    does, and its trust policy lets Lambda, and no other service or account, assume it."""
    for name, template in templates.items():
        roles = template.find_resources("AWS::IAM::Role")
        for logical_id, resource in template.find_resources("AWS::Lambda::Function").items():
            if logical_id.startswith("BucketNotificationsHandler"):
                continue
            function = resource["Properties"]
            role = roles[function["Role"]["Fn::GetAtt"][0]]["Properties"]
            assert role["Description"] == function["Description"], (name, logical_id)
            assert role["AssumeRolePolicyDocument"]["Statement"] == [
                {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
            ], (name, logical_id)


# --- SNS --------------------------------------------------------------------------------------

def test_created_topic_is_encrypted_and_ssl_only(prod_template):
    topic = only_resource(prod_template, "AWS::SNS::Topic")["Properties"]
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": ["MessagingKey9A79A2B1", "Arn"]}
    policy = only_resource(prod_template, "AWS::SNS::TopicPolicy")["Properties"]["PolicyDocument"]["Statement"]
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in policy)
    prod_template.resource_count_is("AWS::SNS::Subscription", 0)


def test_notification_emails_come_from_the_pipeline_of_their_environment(templates):
    """SNS shows a topic's display name as the sender of its emails: subscribers of several
    environments tell PROD's failures from DEV's by it."""
    for name, template in templates.items():
        topic = only_resource(template, "AWS::SNS::Topic")["Properties"]
        assert topic["DisplayName"] == f"Glue ETL pipeline {name}", name


def test_email_subscription_is_added_to_a_created_topic(variant_templates):
    subscription = only_resource(variant_templates["EMAIL"], "AWS::SNS::Subscription")["Properties"]
    assert subscription["Protocol"] == "email"
    assert subscription["Endpoint"] == "data-team@example.com"


def test_imported_topic_is_used_not_created(variant_templates):
    template = variant_templates["IMPORTED"]
    template.resource_count_is("AWS::SNS::Topic", 0)
    notify = definition_of(template)["States"]["Notify failure"]
    assert notify["Parameters"]["TopicArn"] == "arn:aws:sns:eu-west-1:123456789012:data-platform-alerts"
    outputs = template.find_outputs("TopicArn")
    assert outputs["TopicArn"]["Value"] == "arn:aws:sns:eu-west-1:123456789012:data-platform-alerts"


# --- Outputs ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("output", "value"),
    [
        ("GlueJobName", {"Ref": "EtlJob5EDC7C77"}),
        ("StateMachineArn", {"Ref": "WorkflowStateMachine8F1B1C15"}),
        ("TopicArn", {"Ref": "AlertsTopicCF7C81C9"}),
    ],
)
def test_stack_outputs(prod_template, output, value):
    assert prod_template.find_outputs(output)[output]["Value"] == value


# --- Customer-managed keys and Flex --------------------------------------------------------------

SOURCE_KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
DESTINATION_KEY = "arn:aws:kms:eu-west-1:123456789012:key/0987dcba-09fe-87dc-65ba-ab0987654321"


def test_writes_use_sse_kms_under_the_destination_key_when_one_is_given(variant_templates, prod_template):
    configuration = only_resource(variant_templates["KEYS"], "AWS::Glue::SecurityConfiguration")["Properties"]
    assert configuration["EncryptionConfiguration"]["S3Encryptions"] == [{"S3EncryptionMode": "SSE-KMS", "KmsKeyArn": DESTINATION_KEY}]
    plain = only_resource(prod_template, "AWS::Glue::SecurityConfiguration")["Properties"]
    # Another setting, another name: the replacement is created before the old configuration is deleted.
    assert joined(configuration["Name"]) != joined(plain["Name"])


def test_the_job_role_uses_the_customer_keys_only_through_s3(variant_templates, prod_template):
    statements = {s.get("Sid"): s for s in policy_statements(variant_templates["KEYS"], "EtlJobRole")}
    via_s3 = {"StringEquals": {"kms:ViaService": {"Fn::Join": ["", ["s3.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}}}
    assert statements["DecryptSourceObjects"] == {
        "Sid": "DecryptSourceObjects", "Action": "kms:Decrypt", "Effect": "Allow", "Resource": SOURCE_KEY, "Condition": via_s3,
    }
    assert statements["EncryptWrittenObjects"] == {
        "Sid": "EncryptWrittenObjects", "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], "Effect": "Allow",
        "Resource": DESTINATION_KEY, "Condition": via_s3,
    }
    assert not {"DecryptSourceObjects", "EncryptWrittenObjects"} & {s.get("Sid") for s in policy_statements(prod_template, "EtlJobRole")}


def test_a_flex_job_runs_flex_without_a_run_queue_and_the_workflow_waits_out_a_run_ahead(variant_templates, prod_template):
    job = only_resource(variant_templates["FLEX"], "AWS::Glue::Job")["Properties"]
    assert (job["ExecutionClass"], job["JobRunQueuingEnabled"], job["WorkerType"]) == ("FLEX", False, "G.1X")
    standard = only_resource(prod_template, "AWS::Glue::Job")["Properties"]
    assert standard.get("ExecutionClass", "STANDARD") == "STANDARD" and standard["JobRunQueuingEnabled"] is True

    def run_job(template) -> dict:
        definition = json.loads(
            definition_with_tokens_resolved(
                template, {"AWS::Partition": "aws", "EtlJob5EDC7C77": "job", "AlertsTopicCF7C81C9": "arn:aws:sns:eu-west-1:123456789012:t"}
            )
        )
        return definition["States"]["Attempt"]["Branches"][0]["States"]["Run Glue job"], definition["TimeoutSeconds"]

    flex_run_job, flex_timeout = run_job(variant_templates["FLEX"])
    (retry,) = flex_run_job["Retry"]
    # One run's attempts ahead of this one: 4 x (20 + 8) minutes + 70 s, polled every minute.
    assert retry == {
        "ErrorEquals": ["Glue.ConcurrentRunsExceededException"], "IntervalSeconds": 60, "MaxAttempts": 114, "BackoffRate": 1,
    }
    assert "Retry" not in run_job(prod_template)[0]
    # The execution's budget counts each attempt's possible 20-minute wait for capacity.
    assert (flex_timeout, run_job(prod_template)[1]) == (227 * 60, 203 * 60)


@pytest.mark.parametrize("function_prefix", ["ObjectCreatedStartPipeline", "FailureReportsReportFailure"])
def test_a_pipeline_function_is_cut_off_after_30_seconds_and_its_event_retried_twice_within_the_hour(dev_template, function_prefix):
    """A hung call (an AWS API that does not answer) ends in 30 s, well inside the one-hour window in
    which Lambda retries the event twice before it lands in the function's own dead-letter queue."""
    function = resource_named(dev_template, "AWS::Lambda::Function", function_prefix)["Properties"]
    assert (function["Timeout"], function["MemorySize"], function["Architectures"]) == (30, 256, ["arm64"])
    assert function["Handler"] == "handler.handler"
    queue_prefix = function_prefix.removesuffix("StartPipeline").removesuffix("ReportFailure") + "DeadLetterQueue"
    assert function["DeadLetterConfig"]["TargetArn"]["Fn::GetAtt"][0].startswith(queue_prefix)
    (invoke_config,) = [
        c["Properties"]
        for c in dev_template.find_resources("AWS::Lambda::EventInvokeConfig").values()
        if c["Properties"]["FunctionName"]["Ref"].startswith(function_prefix)
    ]
    assert (invoke_config["MaximumRetryAttempts"], invoke_config["MaximumEventAgeInSeconds"]) == (2, 3600)


@pytest.mark.parametrize("role_prefix", ["ObjectCreatedRole", "FailureReportsRole"])
def test_a_pipeline_function_can_park_a_failed_event_in_its_encrypted_dead_letter_queue(dev_template, role_prefix):
    """An event Lambda gives up on is sent to an SSE-KMS queue: without GenerateDataKey and Decrypt on
    the queue's key that send fails, and the event is lost instead of parked (AWS Lambda Developer
    Guide, "Dead-letter queues": the execution role needs the key's permissions)."""
    statements = policy_statements(dev_template, role_prefix)
    assert {"Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Effect": "Allow", "Resource": {"Fn::GetAtt": ["MessagingKey9A79A2B1", "Arn"]}} in statements
    (send,) = [s for s in statements if s["Action"] == "sqs:SendMessage"]
    assert send["Resource"]["Fn::GetAtt"][0].startswith(role_prefix.removesuffix("Role") + "DeadLetterQueue")
