"""What starts the workflow: the schedule, and new objects in the raw data through a small Lambda."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from glue_etl_pipeline.compliance import acknowledge, resource_finding, skip_checkov
from glue_etl_pipeline.config import EnvironmentConfig, S3Location
from glue_etl_pipeline.etl_job import retained_log_group
from glue_etl_pipeline.naming import stack_instance_id

FUNCTION_DIR = Path(__file__).resolve().parent / "functions" / "start_pipeline"
# EventBridge retries a failed start for up to an hour, then parks the event in the dead-letter
# queue (alarmed). Nothing is lost meanwhile: any later run reads every unread file (bookmarks),
# and with the S3 trigger the daily catch-up run does so even when no other run comes.
MAX_EVENT_AGE = Duration.hours(1)
TARGET_RETRY_ATTEMPTS = 10


def dead_letter_queue(scope: Construct, construct_id: str, key: kms.IKey) -> sqs.Queue:
    """An encrypted, SSL-only queue that EventBridge may write undeliverable events to."""
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )


def grant_events_use_of(key: kms.IKey, scope: Construct) -> None:
    """Let EventBridge, under its own service identity, write undeliverable events to the encrypted queues.

    Whether EventBridge's KMS requests for an SQS dead-letter queue carry aws:SourceAccount and
    aws:SourceArn is not documented; with "IfExists", delivery works either way, and a request
    that names another account or another kind of source is still refused.
    """
    stack = Stack.of(scope)
    key.grant(
        iam.ServicePrincipal(
            "events.amazonaws.com",
            conditions={
                "StringEqualsIfExists": {"aws:SourceAccount": stack.account},
                "ArnLikeIfExists": {"aws:SourceArn": f"arn:{stack.partition}:events:{stack.region}:{stack.account}:rule/*"},
            },
        ),
        "kms:GenerateDataKey",
        "kms:Decrypt",
    )


class ScheduledTrigger(Construct):
    """Starts the state machine on a schedule: the configured one, or the daily catch-up of the S3 path."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        state_machine: sfn.IStateMachine,
        key: kms.IKey,
        catch_up: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        schedule = config.catch_up_schedule if catch_up else config.schedule
        trigger = "catch-up" if catch_up else "schedule"
        self.dead_letter_queue = dead_letter_queue(self, "DeadLetterQueue", key)
        acknowledge(
            self.dead_letter_queue,
            "AwsSolutions-SQS3",
            "This queue is itself the dead-letter queue of the schedule's EventBridge target; a queue "
            "behind it would only move undeliverable events one step further.",
        )
        purpose = (
            "reads any object whose S3 event was lost (bookmarks: only unread files)" if catch_up else "runs the pipeline"
        )
        self.rule = events.Rule(
            self,
            "Rule",
            description=f"{config.name}: {schedule} {purpose}",
            schedule=events.Schedule.expression(schedule),
            enabled=True if catch_up else config.schedule_enabled,
        )
        self.rule.add_target(
            targets.SfnStateMachine(
                state_machine,
                input=events.RuleTargetInput.from_object(
                    {"trigger": trigger, "eventId": events.EventField.event_id, "time": events.EventField.time}
                ),
                dead_letter_queue=self.dead_letter_queue,
                max_event_age=MAX_EVENT_AGE,
                retry_attempts=TARGET_RETRY_ATTEMPTS,
            )
        )


class ObjectCreatedTrigger(Construct):
    """S3 "Object Created" events for the source location start the state machine through a Lambda."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        source: S3Location,
        state_machine: sfn.IStateMachine,
        key: kms.IKey,
        log_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        key_prefix = source.prefix if config.event_key_prefix is None else config.event_key_prefix
        self.dead_letter_queue = dead_letter_queue(self, "DeadLetterQueue", key)
        # Named, so the log key's policy can name it.
        log_group = retained_log_group(
            self, "Logs", f"/aws/lambda/glue-etl-pipeline-{config.name.lower()}-start-pipeline-{stack_instance_id()}", log_key
        )
        # Its own role instead of AWSLambdaBasicExecutionRole: write to its log group, nothing else by default.
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Starts the {config.name} pipeline's state machine",
        )
        log_group.grant_write(role)
        self.function = lambda_.Function(
            self,
            "StartPipeline",
            description=f"Starts the {config.name} Glue ETL pipeline for each new raw object",
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            handler="handler.handler",
            role=role,
            code=lambda_.Code.from_asset(str(FUNCTION_DIR), exclude=["__pycache__", "__init__.py"]),
            timeout=Duration.seconds(30),
            memory_size=256,
            environment={
                "STATE_MACHINE_ARN": state_machine.state_machine_arn,
                "BUCKET_NAME": source.bucket,
                "KEY_PREFIX": key_prefix,
                "KEY_SUFFIX": config.event_key_suffix,
                "WINDOW_MINUTES": str(config.coalescing_window_minutes),
            },
            logging_format=lambda_.LoggingFormat.JSON,
            log_group=log_group,
            tracing=lambda_.Tracing.ACTIVE,
            dead_letter_queue=self.dead_letter_queue,
            retry_attempts=2,
            max_event_age=MAX_EVENT_AGE,
        )
        skip_checkov(
            self.function,
            "CKV_AWS_117",
            "The function only calls the Step Functions API; a VPC would add NAT or endpoints and protect nothing.",
        )
        skip_checkov(
            self.function,
            "CKV_AWS_173",
            "Its environment holds only the state machine ARN, bucket name and key filters, none of them secret; "
            "Lambda encrypts it at rest with an AWS-owned key.",
        )
        skip_checkov(
            self.function,
            "CKV_AWS_115",
            "A burst of events must be able to reach the state machine (duplicates are harmless there); a "
            "reserved concurrency would throttle them into retries and the dead-letter queue.",
        )
        state_machine.grant_start_execution(self.function)
        # A replayed event finds its window's execution by name; the handler reads only its status.
        executions = Stack.of(self).format_arn(
            service="states",
            resource="execution",
            resource_name=f"{state_machine.state_machine_name}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.function.add_to_role_policy(iam.PolicyStatement(actions=["states:DescribeExecution"], resources=[executions]))
        acknowledge(
            role,
            resource_finding(self, "AwsSolutions-IAM5", executions),
            "Execution names are chosen per coalescing window at run time; the function may only read the "
            "status of this state machine's executions.",
        )
        # Failed asynchronous invocations land in the encrypted dead-letter queue under the function's role.
        key.grant(self.function, "kms:GenerateDataKey", "kms:Decrypt")
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permissions.",
        )

        object_filter: dict = {"key": [{"prefix": key_prefix}] if key_prefix else [{"exists": True}]}
        if config.event_key_suffix:
            object_filter = {"key": [{"wildcard": f"{key_prefix}*{config.event_key_suffix}"}]}
        self.rule = events.Rule(
            self,
            "Rule",
            description=f"New objects under s3://{source.bucket}/{key_prefix} start the {config.name} pipeline",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={"bucket": {"name": [source.bucket]}, "object": object_filter},
            ),
        )
        self.rule.add_target(
            targets.LambdaFunction(
                self.function,
                dead_letter_queue=self.dead_letter_queue,
                max_event_age=MAX_EVENT_AGE,
                retry_attempts=TARGET_RETRY_ATTEMPTS,
            )
        )
