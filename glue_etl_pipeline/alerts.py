"""Where the pipeline's notifications go: an imported SNS topic, or an encrypted one the stack owns."""

from __future__ import annotations

from aws_cdk import Annotations, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from glue_etl_pipeline.config import EnvironmentConfig


class Alerts(Construct):
    """The notification topic, and the grants that let others publish to it."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self._key: kms.IKey | None
        if config.topic_arn:
            # An imported topic's encryption is managed by its owner, who grants publishers access.
            self.topic: sns.ITopic = sns.Topic.from_topic_arn(self, "Topic", config.topic_arn)
            self._key = None
        else:
            topic = sns.Topic(
                self,
                "Topic",
                display_name=f"Glue ETL pipeline {config.name}",
                master_key=key,
                enforce_ssl=True,
            )
            if config.notification_email:
                topic.add_subscription(subscriptions.EmailSubscription(config.notification_email))
            else:
                # Failures would be published to a topic no one reads: say so at every synth.
                Annotations.of(self).add_warning_v2(
                    "glue-etl-pipeline:alerts-reach-nobody",
                    f"[{config.name}] notifications go to a new topic without subscribers; "
                    "set notification_email or topic_arn in environment.conf",
                )
            self.topic = topic
            self._key = key

    def allow_alarms(self) -> None:
        """Let CloudWatch alarms of this account publish to a created, encrypted topic."""
        if self._key is None:
            return
        cloudwatch = iam.ServicePrincipal(
            "cloudwatch.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}}
        )
        self._key.grant(cloudwatch, "kms:GenerateDataKey", "kms:Decrypt")
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[cloudwatch], actions=["sns:Publish"], resources=[self.topic.topic_arn]
            )
        )

    def grant_encryption(self, grantee: iam.IGrantable) -> None:
        """Let a publisher encrypt messages for a created topic (sns:Publish itself comes with the SnsPublish task).

        Granted with exact actions: the topic's own grant would add kms:GenerateDataKey*.
        """
        if self._key is not None:
            self._key.grant(grantee, "kms:GenerateDataKey", "kms:Decrypt")
