"""Trigger modes: schedule only (PROD), S3 events on an existing bucket (TEST), both with an own raw bucket (DEV)."""

from __future__ import annotations

import copy
import json

import pytest
from moto.events.models import EventPattern

from glue_etl_pipeline.functions.start_pipeline.handler import IgnoredEvent, Settings, new_object
from tests.helpers import PROJECT_ROOT, only_resource, policy_statements, resource_named

SAMPLE_EVENT = json.loads((PROJECT_ROOT / "tests" / "fixtures" / "s3_object_created.json").read_text())


def object_created_rule(template) -> dict:
    return resource_named(template, "AWS::Events::Rule", "ObjectCreatedRule")["Properties"]


def matcher(template, bucket_token_value: str | None = None) -> EventPattern:
    """moto's EventBridge pattern matcher over the synthesized pattern (the bucket token given a name)."""
    pattern = json.dumps(object_created_rule(template)["EventPattern"])
    if bucket_token_value:
        pattern = pattern.replace('{"Ref": "RawDataBucket46CFA8FB"}', json.dumps(bucket_token_value))
    return EventPattern.load(pattern)


def event(bucket="example-travel-raw-test", key="complaints/2026/11/21/batch-0001.json", **changes):
    sample = copy.deepcopy(SAMPLE_EVENT)
    sample["detail"]["bucket"]["name"] = bucket
    sample["detail"]["object"]["key"] = key
    sample.update(changes)
    return sample


def test_schedule_only_has_no_bucket_function_or_event_rule(prod_template):
    prod_template.resource_count_is("AWS::S3::Bucket", 0)
    assert [i for i in prod_template.find_resources("AWS::Lambda::Function")] == ["FailureReportsReportFailure8D9344F2"]
    assert not [i for i in prod_template.find_resources("AWS::Events::Rule") if i.startswith("ObjectCreated")]
    assert "RawBucketName" not in prod_template.find_outputs("*")


def test_s3_only_has_no_schedule_and_uses_the_existing_bucket(test_template):
    test_template.resource_count_is("AWS::S3::Bucket", 0)
    assert not [i for i in test_template.find_resources("AWS::Events::Rule") if i.startswith("Schedule")]
    assert object_created_rule(test_template)["EventPattern"] == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": ["example-travel-raw-test"]}, "object": {"key": [{"prefix": "complaints/"}]}},
    }


def test_pattern_matches_a_real_object_created_event(test_template):
    assert matcher(test_template).matches_event(event())


@pytest.mark.parametrize(
    "other",
    [
        event(bucket="someone-elses-bucket"),
        event(key="exports/2026/11/21/batch-0001.json"),
        event(**{"detail-type": "Object Deleted"}),
        event(source="aws.s3.fake"),
    ],
)
def test_pattern_rejects_other_buckets_prefixes_and_event_types(test_template, other):
    assert not matcher(test_template).matches_event(other)


def test_own_bucket_pattern_filters_on_the_suffix(dev_template):
    pattern = matcher(dev_template, bucket_token_value="raw-bucket-dev")
    assert pattern.matches_event(event(bucket="raw-bucket-dev", key="2026/11/21/a.json"))
    assert not pattern.matches_event(event(bucket="raw-bucket-dev", key="2026/11/21/a.csv"))
    assert not pattern.matches_event(event(bucket="example-travel-raw-test", key="a.json"))


def test_both_mode_has_schedule_and_object_rules(dev_template):
    resource_named(dev_template, "AWS::Events::Rule", "ScheduleRule")
    resource_named(dev_template, "AWS::Events::Rule", "ObjectCreatedRule")


def raw_bucket(template) -> tuple[str, dict]:
    (found,) = [(i, b) for i, b in template.find_resources("AWS::S3::Bucket").items() if i.startswith("RawDataBucket")]
    return found


def test_raw_bucket_is_versioned_encrypted_private_and_announces_objects(dev_template):
    bucket_id, bucket = raw_bucket(dev_template)
    properties = bucket["Properties"]
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
    }
    assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    # Old versions go after 30 days, and uploads left unfinished after a week (their parts are billed).
    assert properties["LifecycleConfiguration"]["Rules"] == [{
        "Id": "expire-noncurrent-versions", "Status": "Enabled",
        "NoncurrentVersionExpiration": {"NoncurrentDays": 30}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
    }]
    assert bucket["DeletionPolicy"] == "Delete"  # DEV asks for raw_bucket_removal_policy = destroy
    notifications = only_resource(dev_template, "Custom::S3BucketNotifications")["Properties"]
    assert notifications["NotificationConfiguration"] == {"EventBridgeConfiguration": {}}
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in dev_template.find_resources("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in policy)
    logging = properties["LoggingConfiguration"]
    assert logging["LogFilePrefix"] == "raw-data/" and logging["DestinationBucketName"]["Ref"].startswith("RawDataAccessLogs")
    assert dev_template.find_outputs("RawBucketName")["RawBucketName"]["Value"] == {"Ref": bucket_id}


def access_log_bucket(template) -> dict:
    (found,) = [b for i, b in template.find_resources("AWS::S3::Bucket").items() if i.startswith("RawDataAccessLogs")]
    return found


def test_the_raw_buckets_access_logs_are_encrypted_private_and_expire_after_90_days(dev_template):
    bucket = access_log_bucket(dev_template)
    properties = bucket["Properties"]
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
    }
    assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert properties["LifecycleConfiguration"]["Rules"] == [{"Id": "expire-access-logs", "Status": "Enabled", "ExpirationInDays": 90}]
    # It goes with the raw bucket: DEV destroys both.
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Delete", "Delete")


def test_raw_bucket_is_retained_by_default(variant_templates):
    _, bucket = raw_bucket(variant_templates["OWNBUCKET"])
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Retain", "Retain")
    logs = access_log_bucket(variant_templates["OWNBUCKET"])
    assert (logs["DeletionPolicy"], logs["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_checkov_skips_on_cdks_notifications_handler_name_their_checks_with_reasons(dev_template):
    (handler,) = [
        r for i, r in dev_template.find_resources("AWS::Lambda::Function").items() if i.startswith("BucketNotificationsHandler")
    ]
    skips = handler["Metadata"]["checkov"]["skip"]
    assert [skip["id"] for skip in skips] == ["CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"]
    assert all(skip["comment"].startswith("CDK's deploy-time custom resource") for skip in skips)


def test_glue_job_reads_the_raw_bucket_when_the_stack_owns_it(dev_template):
    statements = policy_statements(dev_template, "EtlJobRole")
    reads = [
        r
        for s in statements
        if s["Action"] == "s3:GetObject"
        for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
        if "cdk-hnb659fds-assets" not in json.dumps(r)
    ]
    assert reads == [{"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::", {"Ref": "RawDataBucket46CFA8FB"}, "/*"]]}]


def start_pipeline_function(template) -> dict:
    functions = template.find_resources("AWS::Lambda::Function")
    (function,) = [f for logical_id, f in functions.items() if logical_id.startswith("ObjectCreatedStartPipeline")]
    return function


def test_function_runtime_tracing_logs_and_settings(dev_template):
    function = start_pipeline_function(dev_template)
    assert function["Properties"]["Runtime"] == "python3.14"
    assert function["Properties"]["TracingConfig"] == {"Mode": "Active"}
    assert function["Properties"]["LoggingConfig"]["LogFormat"] == "JSON"
    assert function["Properties"]["Environment"]["Variables"] == {
        "STATE_MACHINE_ARN": {"Ref": "WorkflowStateMachine8F1B1C15"},
        "BUCKET_NAME": {"Ref": "RawDataBucket46CFA8FB"},
        "KEY_PREFIX": "",
        "KEY_SUFFIX": ".json",
        "WINDOW_MINUTES": "5",
    }
    log_group_ref = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    assert dev_template.to_json()["Resources"][log_group_ref]["Properties"]["RetentionInDays"] == 90


def test_function_may_start_only_this_state_machine(dev_template):
    statements = policy_statements(dev_template, "ObjectCreatedRole")
    starts = [s for s in statements if "states:StartExecution" in json.dumps(s["Action"])]
    assert starts == [{"Action": "states:StartExecution", "Effect": "Allow", "Resource": {"Ref": "WorkflowStateMachine8F1B1C15"}}]
    wildcard = [s for s in statements if s["Resource"] == "*"]
    assert [sorted(s["Action"]) for s in wildcard] == [["xray:PutTelemetryRecords", "xray:PutTraceSegments"]]


def test_object_rule_targets_the_function_with_retry_and_dead_letter_queue(dev_template):
    (target,) = object_created_rule(dev_template)["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["ObjectCreatedStartPipeline725E7641", "Arn"]}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 10}
    assert "DeadLetterConfig" in target
    function = start_pipeline_function(dev_template)["Properties"]
    assert function["DeadLetterConfig"]["TargetArn"] == target["DeadLetterConfig"]["Arn"]
    # Lambda's own asynchronous retries: twice, within the hour EventBridge also keeps an event.
    (invoke_config,) = [
        c["Properties"] for c in dev_template.find_resources("AWS::Lambda::EventInvokeConfig").values()
        if c["Properties"]["FunctionName"] == {"Ref": "ObjectCreatedStartPipeline725E7641"}
    ]
    assert invoke_config == {
        "FunctionName": {"Ref": "ObjectCreatedStartPipeline725E7641"},
        "MaximumEventAgeInSeconds": 3600,
        "MaximumRetryAttempts": 2,
        "Qualifier": "$LATEST",
    }


def test_success_notification_only_when_asked(dev_template, prod_template):
    from tests.unit.test_stack import definition_of

    dev_states = definition_of(dev_template)["States"]
    assert dev_states["Attempt"]["Next"] == "Notify success"
    assert dev_states["Notify success"]["Parameters"]["Subject"] == "[DEV] Glue ETL pipeline succeeded"
    assert dev_states["Notify success"]["Next"] == "Pipeline succeeded"
    assert "Notify success" not in definition_of(prod_template)["States"]


PROD_RAW = "example-travel-raw-prod"
FILTER_KEYS = (
    "complaints/incoming/2026/11/21/a.json",
    "complaints/incoming/a.json",
    "complaints/incoming/a.csv",
    "complaints/incoming/sub/",
    "complaints/a.json",
    "complaints/incomingx/a.json",
    "exports/complaints/incoming/a.json",
)


def function_settings(template) -> Settings:
    """The Lambda's settings as the template configures them (the state machine token left as is)."""
    variables = start_pipeline_function(template)["Properties"]["Environment"]["Variables"]
    return Settings.from_environment({**variables, "STATE_MACHINE_ARN": "arn"})


@pytest.mark.parametrize(
    ("variant", "key_filter", "suffix"),
    [
        ("PREFIXED", [{"prefix": "complaints/incoming/"}], ""),
        ("FILTERED", [{"wildcard": "complaints/incoming/*.json"}], ".json"),
    ],
)
def test_event_key_prefix_replaces_the_source_prefix_in_rule_and_function(variant_templates, variant, key_filter, suffix):
    template = variant_templates[variant]
    assert object_created_rule(template)["EventPattern"]["detail"] == {
        "bucket": {"name": [PROD_RAW]},
        "object": {"key": key_filter},
    }
    settings = function_settings(template)
    assert (settings.bucket, settings.key_prefix, settings.key_suffix) == (PROD_RAW, "complaints/incoming/", suffix)


@pytest.mark.parametrize(
    ("variant", "started"),
    [
        ("PREFIXED", {"complaints/incoming/2026/11/21/a.json", "complaints/incoming/a.json", "complaints/incoming/a.csv"}),
        ("FILTERED", {"complaints/incoming/2026/11/21/a.json", "complaints/incoming/a.json"}),
    ],
)
def test_the_rule_delivers_exactly_the_keys_the_function_acts_on_but_folder_markers(variant_templates, variant, started):
    """EventBridge's filter (moto's matcher) and the function's own check agree key by key; a folder
    marker such as complaints/incoming/sub/ passes a prefix-only rule, and the function ignores it."""
    template = variant_templates[variant]
    pattern, settings = matcher(template), function_settings(template)
    delivered = {key for key in FILTER_KEYS if pattern.matches_event(event(bucket=PROD_RAW, key=key))}

    def acted_on(key: str) -> bool:
        try:
            new_object(event(bucket=PROD_RAW, key=key), settings)
        except IgnoredEvent:
            return False
        return True

    assert {key for key in delivered if acted_on(key)} == started
    assert not [key for key in FILTER_KEYS if acted_on(key) and key not in delivered]
    assert ("complaints/incoming/sub/" in delivered) == (variant == "PREFIXED")


def test_a_source_at_the_bucket_root_starts_on_every_new_object_of_that_bucket(variant_templates):
    """With no prefix the rule asks only that the key exists (EventBridge User Guide, "Exists matching")."""
    template = variant_templates["WHOLEBUCKET"]
    assert object_created_rule(template)["EventPattern"]["detail"] == {
        "bucket": {"name": [PROD_RAW]},
        "object": {"key": [{"exists": True}]},
    }
    pattern = matcher(template)
    assert all(pattern.matches_event(event(bucket=PROD_RAW, key=key)) for key in FILTER_KEYS)
    assert not pattern.matches_event(event(bucket="example-travel-raw-test", key="complaints/a.json"))
    assert function_settings(template).key_prefix == ""


def test_each_timed_rule_says_in_the_console_when_it_runs_and_what_for(templates, project_config):
    """EventBridge lists rules by description: the schedule runs the pipeline, the daily catch-up
    of the S3 path reads what a lost event left unread."""
    catch_up = "reads any object whose S3 event was lost (bookmarks: only unread files)"
    for config in project_config.environments:
        rules = templates[config.name].find_resources("AWS::Events::Rule")
        described = {
            logical_id.rstrip("0123456789ABCDEF"): rule["Properties"]["Description"]
            for logical_id, rule in rules.items()
            if "ScheduleExpression" in rule["Properties"]
        }
        expected = {}
        if config.trigger in ("schedule", "both"):
            expected["ScheduleRule"] = f"{config.name}: {config.schedule} runs the pipeline"
        if config.trigger in ("s3", "both"):
            expected["CatchUpRule"] = f"{config.name}: {config.catch_up_schedule} {catch_up}"
        assert described == expected, config.name
