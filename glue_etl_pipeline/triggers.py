"""What starts the workflow: the schedule, and new objects in the raw data through a small Lambda."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from glue_etl_pipeline.compliance import acknowledge
from glue_etl_pipeline.config import EnvironmentConfig, S3Location
from glue_etl_pipeline.lambda_function import MAX_EVENT_AGE, TARGET_RETRY_ATTEMPTS, allow_reading_executions, pipeline_function

# A start EventBridge gave up on (MAX_EVENT_AGE) loses nothing: any later run reads every unread
# file (bookmarks), and with the S3 trigger the daily catch-up run does so even when no other run comes.


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
        self.function = pipeline_function(
            self,
            "StartPipeline",
            config=config,
            name="start_pipeline",
            description=f"Starts the {config.name} Glue ETL pipeline for each new raw object",
            environment={
                "STATE_MACHINE_ARN": state_machine.state_machine_arn,
                "BUCKET_NAME": source.bucket,
                "KEY_PREFIX": key_prefix,
                "KEY_SUFFIX": config.event_key_suffix,
                "WINDOW_MINUTES": str(config.coalescing_window_minutes),
            },
            dead_letter_queue=self.dead_letter_queue,
            key=key,
            log_key=log_key,
        )
        state_machine.grant_start_execution(self.function)
        # A replayed event finds its window's execution by name; the handler reads only its status.
        allow_reading_executions(
            self.function,
            state_machine,
            "Execution names are chosen per coalescing window at run time; the function may only read the "
            "status of this state machine's executions.",
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
