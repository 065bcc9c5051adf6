"""The Glue 5.0 PySpark job that turns the catalog table's JSON into Parquet, and its least-privilege role."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import ArnFormat, Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from glue_etl_pipeline.config import EnvironmentConfig, S3Location
from glue_etl_pipeline.job_package import ENTRYPOINT, PACKAGE_DIR, build_package_zip

RULESET_FILE = PACKAGE_DIR / "ruleset.dqdl"
LOG_RETENTION = logs.RetentionDays.THREE_MONTHS


class EtlJob(Construct):
    """The job, its role and its log groups."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, source: S3Location) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        # Account and region in the name let every environment share one account and region.
        self.job_name = f"json-to-pq-{config.name.lower()}-{stack.account}-{stack.region}"
        # Glue 5.0 writes driver and executor logs to <prefix>/error and <prefix>/output.
        log_group_prefix = f"/aws-glue/jobs/{self.job_name}"

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("glue.amazonaws.com"),
            description=f"Runs the {config.name} JSON-to-Parquet Glue job",
        )
        for stream in ("error", "output"):
            logs.LogGroup(
                self,
                f"{stream.capitalize()}Logs",
                log_group_name=f"{log_group_prefix}/{stream}",
                retention=LOG_RETENTION,
                removal_policy=RemovalPolicy.RETAIN,
            )
        self._grant_permissions(config, source, log_group_prefix)

        self.job = glue.PySparkEtlJob(
            self,
            "Job",
            job_name=self.job_name,
            description=f"Reads {config.glue_db}.{config.table_name} (JSON) and writes Parquet ({config.name})",
            role=self.role,
            script=self._script_file(ENTRYPOINT, "entrypoint"),
            # The data logic, schema and ruleset: the same files the tests and the local runner use.
            extra_python_files=[self._script_file(build_package_zip(), "package")],
            glue_version=glue.GlueVersion.V5_0,
            worker_configuration=glue.WorkerConfiguration(
                worker_type=glue.WorkerType[config.worker_type.replace(".", "_")],
                number_of_workers=config.number_of_workers,
            ),
            max_concurrent_runs=1,
            job_run_queuing_enabled=True,
            # The state machine owns retries; Glue retrying too would multiply the attempts.
            max_retries=0,
            timeout=Duration.minutes(config.job_timeout_minutes),
            continuous_logging=glue.ContinuousLoggingProps(enabled=True),
            enable_metrics=True,
            enable_observability_metrics=True,
            default_arguments={
                "--dbname": config.glue_db,
                "--table": config.table_name,
                "--outputpath": config.destination_s3_location.uri,
                "--quarantinepath": config.quarantine_s3_location.uri,
                "--max_quarantine_fraction": str(config.max_quarantine_fraction),
                "--job-bookmark-option": "job-bookmark-enable",
                "--custom-logGroup-prefix": log_group_prefix,
            },
        )

        # Registered on the table, the ruleset is visible in Glue Data Quality beside the run results.
        glue.CfnDataQualityRuleset(
            self,
            "Ruleset",
            name=f"{self.job_name}-ruleset",
            description=f"Rules the {config.name} job applies to {config.glue_db}.{config.table_name}",
            ruleset=RULESET_FILE.read_text(encoding="utf-8"),
            target_table=glue.CfnDataQualityRuleset.DataQualityTargetTableProperty(
                database_name=config.glue_db, table_name=config.table_name
            ),
        )

    def _script_file(self, path: Path, construct_id: str) -> glue.Code:
        """Upload `path` as an asset the job's role may read, and nothing else in the asset bucket."""
        asset = s3_assets.Asset(self, construct_id, path=str(path))
        return glue.Code.from_bucket(asset.bucket, asset.s3_object_key)

    def _grant_permissions(self, config: EnvironmentConfig, source: S3Location, log_group_prefix: str) -> None:
        stack = Stack.of(self)
        self._grant_s3(source, ["s3:GetObject"])
        self._grant_s3(config.destination_s3_location, ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"])
        self._grant_s3(config.quarantine_s3_location, ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"])
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadOwnCatalogTable",
                actions=["glue:GetDatabase", "glue:GetTable", "glue:GetPartition", "glue:GetPartitions"],
                resources=[
                    stack.format_arn(service="glue", resource="catalog"),
                    stack.format_arn(service="glue", resource="database", resource_name=config.glue_db),
                    stack.format_arn(
                        service="glue", resource="table", resource_name=f"{config.glue_db}/{config.table_name}"
                    ),
                ],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteOwnLogs",
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[
                    stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name=f"{log_group_prefix}/*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="PublishDataQualityResults",
                actions=["glue:PublishDataQuality"],
                resources=[stack.format_arn(service="glue", resource="dataQualityRuleset", resource_name="*")],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="PublishGlueMetrics",
                actions=["cloudwatch:PutMetricData"],
                # PutMetricData supports no resource-level permissions; the namespace condition scopes it.
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": ["Glue", "Glue Data Quality"]}},
            )
        )

    def _grant_s3(self, location: S3Location, object_actions: list[str]) -> None:
        bucket_arn = f"arn:{Aws.PARTITION}:s3:::{location.bucket}"
        object_arns = [f"{bucket_arn}/{location.object_pattern}"]
        list_condition = None
        if location.prefix:
            folder = location.prefix.rstrip("/")
            # Hadoop's S3 clients probe the folder key itself and may write a "<folder>_$folder$" marker.
            object_arns.append(f"{bucket_arn}/{folder}_$folder$")
            list_condition = {"StringLike": {"s3:prefix": [folder, location.object_pattern]}}
        self.role.add_to_policy(iam.PolicyStatement(actions=object_actions, resources=object_arns))
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket_arn], conditions=list_condition)
        )
