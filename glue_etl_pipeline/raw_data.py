"""The raw-data bucket the stack owns when the S3 trigger is on and no source location is given."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from glue_etl_pipeline.compliance import acknowledge, skip_checkov
from glue_etl_pipeline.config import EnvironmentConfig

NONCURRENT_VERSION_DAYS = 30
ACCESS_LOG_DAYS = 90
ACCESS_LOG_PREFIX = "raw-data/"
# The access-log bucket's acknowledged finding and checkov skips, each with the reason a reviewer reads.
_ACCESS_LOGS_UNLOGGED = "This bucket receives the raw bucket's server access logs; logging it into itself would loop."
_ACCESS_LOGS_SKIPS = (
    ("CKV_AWS_18", "This is the access-log bucket; logging it into itself would loop."),
    (
        "CKV_AWS_21",
        "Access logs are written once by S3's log delivery and expire after 90 days; versions would only "
        "keep deleted logs longer.",
    ),
)
# aws-cdk-lib's bucket-notifications handler: a custom resource CloudFormation calls once per deployment.
_NOTIFICATIONS_HANDLER_SKIPS = (
    ("CKV_AWS_115", "CDK's deploy-time custom resource, invoked by CloudFormation once per deployment: no concurrency to bound."),
    ("CKV_AWS_116", "CDK's deploy-time custom resource, invoked synchronously by CloudFormation, which reports its failure: no dead-letter queue applies."),
    ("CKV_AWS_117", "CDK's deploy-time custom resource calls only the S3 API; a VPC would add NAT or endpoints and protect nothing."),
)
_NOTIFICATIONS_HANDLER_MANAGED_POLICY = (
    "aws-cdk-lib's bucket-notifications handler runs only during deployment; its role and "
    "its logs-only managed policy are created by CDK and cannot be replaced."
)


class RawDataBucket(Construct):
    """Versioned, encrypted, private, SSL-only, announcing new objects to EventBridge."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, construct_id)
        removal_policy = RemovalPolicy.DESTROY if config.raw_bucket_removal_policy == "destroy" else RemovalPolicy.RETAIN
        access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=removal_policy,
            lifecycle_rules=[s3.LifecycleRule(id="expire-access-logs", expiration=Duration.days(ACCESS_LOG_DAYS))],
        )
        acknowledge(access_logs, "AwsSolutions-S1", _ACCESS_LOGS_UNLOGGED)
        for check, reason in _ACCESS_LOGS_SKIPS:
            skip_checkov(access_logs, check, reason)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            versioned=True,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            event_bridge_enabled=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            # Raw data is the only copy of what arrived: keep it unless the environment says otherwise.
            removal_policy=removal_policy,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-noncurrent-versions",
                    noncurrent_version_expiration=Duration.days(NONCURRENT_VERSION_DAYS),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
        )
        self._log_access(access_logs)
        # CDK turns the notifications on with its own singleton handler, whose role it builds itself.
        handler = Stack.of(self).node.try_find_child("BucketNotificationsHandler050a0587b7544547bf325f094a3db834")
        if handler is not None:
            for check, reason in _NOTIFICATIONS_HANDLER_SKIPS:
                skip_checkov(handler.node.default_child, check, reason)
            acknowledge(
                handler,
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
                _NOTIFICATIONS_HANDLER_MANAGED_POLICY,
            )

    def _log_access(self, access_logs: s3.Bucket) -> None:
        """Server access logs delivered under a bucket policy, set explicitly.

        CDK's `server_access_logs_bucket` picks between a bucket policy and the LogDeliveryWrite
        ACL by a feature flag that only the CDK CLI passes from cdk.json; with the ACL, a plain
        `python app.py` fails on the bucket-owner-enforced ownership. The policy is what AWS
        recommends (Amazon S3 User Guide, "Enabling Amazon S3 server access logging").
        """
        stack = Stack.of(self)
        self.bucket.node.default_child.logging_configuration = s3.CfnBucket.LoggingConfigurationProperty(
            destination_bucket_name=access_logs.bucket_name, log_file_prefix=ACCESS_LOG_PREFIX
        )
        access_logs.add_to_resource_policy(
            iam.PolicyStatement(
                sid="S3ServerAccessLogsPolicy",
                principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[access_logs.arn_for_objects(f"{ACCESS_LOG_PREFIX}*")],
                conditions={
                    "ArnLike": {"aws:SourceArn": self.bucket.bucket_arn},
                    "StringEquals": {"aws:SourceAccount": stack.account},
                },
            )
        )
