"""The raw-data bucket the stack owns when the S3 trigger is on and no source location is given."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

from glue_etl_pipeline.config import EnvironmentConfig

NONCURRENT_VERSION_DAYS = 30


class RawDataBucket(Construct):
    """Versioned, encrypted, private, SSL-only, announcing new objects to EventBridge."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, construct_id)
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
            removal_policy=RemovalPolicy.DESTROY if config.raw_bucket_removal_policy == "destroy" else RemovalPolicy.RETAIN,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-noncurrent-versions",
                    noncurrent_version_expiration=Duration.days(NONCURRENT_VERSION_DAYS),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
        )
