"""The hourly trigger: an EventBridge schedule that starts the workflow, with retries and a dead-letter queue."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from glue_etl_pipeline.config import EnvironmentConfig


class ScheduledTrigger(Construct):
    """Starts the state machine on the configured schedule."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        state_machine: sfn.IStateMachine,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        # EventBridge writes undeliverable events with its own service identity, which needs the key.
        key.grant(
            iam.ServicePrincipal("events.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}}),
            "kms:GenerateDataKey*",
            "kms:Decrypt",
        )
        self.rule = events.Rule(
            self,
            "Rule",
            description=f"Starts the {config.name} Glue ETL pipeline on {config.schedule}",
            schedule=events.Schedule.expression(config.schedule),
            enabled=config.schedule_enabled,
        )
        self.rule.add_target(
            targets.SfnStateMachine(
                state_machine,
                input=events.RuleTargetInput.from_object(
                    {"trigger": "schedule", "eventId": events.EventField.event_id, "time": events.EventField.time}
                ),
                dead_letter_queue=self.dead_letter_queue,
                # A run not started within the hour is superseded by the next scheduled one.
                max_event_age=Duration.hours(1),
                retry_attempts=10,
            )
        )
