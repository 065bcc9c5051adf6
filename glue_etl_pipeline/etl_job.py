"""The Glue 5.0 PySpark job that turns the catalog table's JSON into Parquet, and its least-privilege role."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import ArnFormat, Aws, Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from glue_etl_pipeline.compliance import acknowledge, resource_finding, skip_checkov
from glue_etl_pipeline.config import EnvironmentConfig, S3Location
from glue_etl_pipeline.job_package import ENTRYPOINT, PACKAGE_DIR, build_package_zip
from glue_etl_pipeline.naming import settings_digest, stack_instance_id
from gluescripts.etl.metrics import NAMESPACE as METRICS_NAMESPACE

RULESET_FILE = PACKAGE_DIR / "ruleset.dqdl"
LOG_RETENTION = logs.RetentionDays.THREE_MONTHS
ICEBERG_CATALOG = "glue_catalog"


def iceberg_session_settings(config: EnvironmentConfig) -> str:
    """The `--conf` value: Iceberg's SQL extensions and a catalog backed by the Glue Data Catalog.

    Glue takes further settings chained as ` --conf key=value` in the one argument. Iceberg writes
    through its own S3 client (S3FileIO), which the security configuration does not reach: a
    destination key is set on it too (Iceberg AWS integration, "S3 Server Side Encryption").
    """
    prefix = f"spark.sql.catalog.{ICEBERG_CATALOG}"
    settings = [
        "spark.sql.extensions=org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
        f"{prefix}=org.apache.iceberg.spark.SparkCatalog",
        f"{prefix}.catalog-impl=org.apache.iceberg.aws.glue.GlueCatalog",
        f"{prefix}.io-impl=org.apache.iceberg.aws.s3.S3FileIO",
        f"{prefix}.warehouse={config.destination_s3_location.uri}",
    ]
    if config.destination_kms_key_arn:
        settings += [f"{prefix}.s3.sse.type=kms", f"{prefix}.s3.sse.key={config.destination_kms_key_arn}"]
    else:
        # As the security configuration asks of Glue's own writes: a bucket policy may require the header.
        settings.append(f"{prefix}.s3.sse.type=s3")
    return " --conf ".join(settings)


def allow_cloudwatch_logs(key: kms.IKey, scope: Construct, log_group_name: str) -> None:
    """Let CloudWatch Logs, under its regional service identity, use `key` for the named log group only.

    The encryption context CloudWatch Logs sends names the log group by its ARN, and the CloudWatch
    Logs User Guide ("Encrypt log data in CloudWatch Logs using AWS KMS") limits a key to one group
    with ArnEquals on that ARN: no pattern, so no longer name can match.
    """
    stack = Stack.of(scope)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:DescribeKey"],
            resources=["*"],
            conditions={
                "ArnEquals": {
                    "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                        service="logs", resource="log-group", resource_name=log_group_name, arn_format=ArnFormat.COLON_RESOURCE_NAME
                    )
                }
            },
        )
    )


def retained_log_group(scope: Construct, construct_id: str, log_group_name: str, key: kms.IKey) -> logs.LogGroup:
    """A log group kept after the stack is deleted (CDK retains a log group unless told otherwise,
    aws-logs LogGroupProps.removalPolicy), encrypted with `key`, under a name that carries the stack
    instance (see naming.py) so the next create never meets it."""
    allow_cloudwatch_logs(key, scope, log_group_name)
    return logs.LogGroup(scope, construct_id, log_group_name=log_group_name, encryption_key=key, retention=LOG_RETENTION)


class _UploadedFile(glue.Code):
    """A file asset handed to Glue without CDK's broad read grant (s3:GetObject*, s3:List*, ...).

    The job's role gets s3:GetObject on exactly this object instead, in `EtlJob._script_file`.
    """

    def __init__(self, bucket_name: str, object_key: str):
        super().__init__()
        self._location = s3.Location(bucket_name=bucket_name, object_key=object_key)

    def bind(self, scope: Construct, grantable: iam.IGrantable) -> glue.CodeConfig:
        return glue.CodeConfig(s3_location=self._location)


class EtlJob(Construct):
    """The job, its role, its encryption and its log groups."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, source: S3Location) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        # Account and region in the name let every environment share one account and region.
        self.job_name = f"json-to-pq-{config.name.lower()}-{stack.account}-{stack.region}"
        # Glue 5.0 writes driver and executor logs to <prefix>/error and <prefix>/output. The groups
        # are kept after the stack is deleted, so the prefix names this stack instance: a new
        # create never meets the groups an earlier one left behind.
        log_group_prefix = f"/aws-glue/jobs/{self.job_name}-{stack_instance_id()}"

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("glue.amazonaws.com"),
            description=f"Runs the {config.name} JSON-to-Parquet Glue job",
        )
        self.key = self._encryption_key(config)
        for stream in ("error", "output"):
            retained_log_group(self, f"{stream.capitalize()}Logs", f"{log_group_prefix}/{stream}", self.key)
        # Bookmarks under the job's own key. Writes are SSE-KMS under destination_kms_key_arn when it
        # is set (a bucket policy may require it), else SSE-S3 so their readers need no key grant: the
        # security configuration's S3 setting applies to everything the job writes to S3 (AWS Glue
        # Developer Guide, "Encrypting data written by AWS Glue").
        # CloudWatch encryption is left out on purpose: with it Glue writes to log groups whose
        # names carry the security configuration's (AWS Glue Developer Guide, "Encrypting logs
        # written to CloudWatch Logs"), not to the groups above, which are already encrypted with
        # the same key (CloudWatch Logs User Guide, "Encrypt log data in CloudWatch Logs using AWS KMS").
        write_key = config.destination_kms_key_arn
        security_configuration = glue.SecurityConfiguration(
            self,
            "SecurityConfiguration",
            # CDK retains it by default: each replaced one would be left behind in the account.
            removal_policy=RemovalPolicy.DESTROY,
            job_bookmarks_encryption=glue.JobBookmarksEncryption.client_side_kms(self.key),
            s3_encryption=(
                glue.S3Encryption.kms(kms.Key.from_key_arn(self, "WriteKey", write_key)) if write_key else glue.S3Encryption.s3_managed()
            ),
        )
        # Any change replaces a security configuration, and the replacement is created first: its
        # name follows the settings as they are rendered, so the two never share one.
        rendered = security_configuration.node.default_child
        rendered.name = f"{self.job_name}-security-{settings_digest(stack.resolve(rendered.encryption_configuration))}"
        skip_checkov(
            security_configuration,
            "CKV_AWS_99",
            "CloudWatch encryption is left out on purpose: the job's log groups are encrypted with the job's "
            "key by the stack, and with it Glue would write to renamed groups instead. Bookmarks are CSE-KMS, "
            "S3 output SSE-S3 or SSE-KMS under the configured destination key.",
        )
        self._grant_permissions(config, source, log_group_prefix)

        job_properties = dict(
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
            security_configuration=security_configuration,
            max_concurrent_runs=1,
            # The state machine owns retries; Glue retrying too would multiply the attempts.
            max_retries=0,
            timeout=Duration.minutes(config.job_timeout_minutes),
            # Continuous logging, job metrics and observability metrics are on by CDK's default.
            default_arguments={
                "--environment": config.name,
                "--dbname": config.glue_db,
                "--table": config.table_name,
                "--outputpath": config.destination_s3_location.uri,
                "--quarantinepath": config.quarantine_s3_location.uri,
                "--max_quarantine_fraction": str(config.max_quarantine_fraction),
                "--max_bytes_per_run": str(config.max_megabytes_per_run * 1024 * 1024),
                "--job-bookmark-option": "job-bookmark-enable",
                "--custom-logGroup-prefix": log_group_prefix,
                # The curated and quarantine tables are Iceberg tables in the Glue Data Catalog, with
                # Glue 5.0's own Iceberg (AWS Glue Developer Guide, "Using the Iceberg framework in AWS Glue").
                "--datalake-formats": "iceberg",
                "--conf": iceberg_session_settings(config),
                "--catalog": ICEBERG_CATALOG,
                "--curated_table": f"{config.curated_database}.{config.curated_table}",
                "--quarantine_table": f"{config.curated_database}.{config.quarantine_table}",
            },
        )
        if config.flex:
            # A Flex job runs on spare capacity and has no run queue (CDK sets JobRunQueuingEnabled
            # false): the workflow waits out a run ahead of it instead (workflow.py).
            self.job: glue.IJob = glue.PySparkFlexEtlJob(self, "Job", **job_properties)
        else:
            # A start while a run is active waits in Glue's queue instead of failing.
            self.job = glue.PySparkEtlJob(self, "Job", job_run_queuing_enabled=True, **job_properties)

        acknowledge(
            self.job,
            "AwsSolutions-GL1",
            "The job's log groups are created by this stack and encrypted with the job's KMS key; CloudWatch "
            "encryption in the security configuration would make Glue write to other, renamed groups instead.",
        )

        # Registered on the table, the ruleset is visible in Glue Data Quality beside the run results.
        glue.CfnDataQualityRuleset(
            self,
            "Ruleset",
            # A new target table replaces the ruleset: the name follows it.
            name=f"{self.job_name}-ruleset-{settings_digest(config.glue_db, config.table_name)}",
            description=f"Rules the {config.name} job applies to {config.glue_db}.{config.table_name}",
            ruleset=RULESET_FILE.read_text(encoding="utf-8"),
            target_table=glue.CfnDataQualityRuleset.DataQualityTargetTableProperty(
                database_name=config.glue_db, table_name=config.table_name
            ),
        )

    def _encryption_key(self, config: EnvironmentConfig) -> kms.Key:
        key = kms.Key(
            self,
            "Key",
            description=f"Encrypts the {config.name} pipeline's log groups and the Glue job's bookmarks",
            enable_key_rotation=True,
        )
        key.grant(self.role, "kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey")
        return key

    def _script_file(self, path: Path, construct_id: str) -> glue.Code:
        """Upload `path` as an asset the job's role may read, and nothing else in the asset bucket."""
        asset = s3_assets.Asset(self, construct_id, path=str(path))
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[f"arn:{Aws.PARTITION}:s3:::{asset.s3_bucket_name}/{asset.s3_object_key}"],
            )
        )
        return _UploadedFile(asset.s3_bucket_name, asset.s3_object_key)

    def _grant_permissions(self, config: EnvironmentConfig, source: S3Location, log_group_prefix: str) -> None:
        stack = Stack.of(self)
        self._grant_s3(source, ["s3:GetObject"])
        # Spark writes through multipart uploads and renames (copy, then delete) its temporary files.
        writes = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
        self._grant_s3(config.destination_s3_location, writes)
        self._grant_s3(config.quarantine_s3_location, writes)
        # Customer keys, used only through S3 in this region: reading an SSE-KMS object takes
        # kms:Decrypt; writing one takes kms:GenerateDataKey and kms:Encrypt, and a multipart upload
        # or a copy of it kms:Decrypt (Amazon S3 User Guide, "Using server-side encryption with AWS KMS
        # keys", Permissions; AWS Glue Developer Guide, "Setting up encryption in AWS Glue").
        via_s3 = {"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}}
        if config.source_kms_key_arn:
            self.role.add_to_policy(
                iam.PolicyStatement(
                    sid="DecryptSourceObjects", actions=["kms:Decrypt"], resources=[config.source_kms_key_arn], conditions=via_s3
                )
            )
        if config.destination_kms_key_arn:
            self.role.add_to_policy(
                iam.PolicyStatement(
                    sid="EncryptWrittenObjects",
                    actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                    resources=[config.destination_kms_key_arn],
                    conditions=via_s3,
                )
            )
        # Iceberg's Glue catalog: the tables the job creates on its first run and evolves after
        # (GetTable to load, CreateTable, UpdateTable for each commit and ADD COLUMNS), in their database only.
        self._grant_catalog(
            "OwnIcebergTables",
            ["glue:GetDatabase", "glue:GetTable", "glue:CreateTable", "glue:UpdateTable"],
            config.curated_database,
            [config.curated_table, config.quarantine_table],
        )
        self._grant_catalog(
            "ReadOwnCatalogTable",
            ["glue:GetDatabase", "glue:GetTable", "glue:GetPartition", "glue:GetPartitions"],
            config.glue_db,
            [config.table_name],
        )
        own_log_groups = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"{log_group_prefix}/*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteOwnLogs",
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[own_log_groups],
            )
        )
        acknowledge(
            self,
            resource_finding(self, "AwsSolutions-IAM5", own_log_groups),
            "Glue names a log stream per job run and executor inside the job's own log groups under "
            "this prefix; the groups themselves are created here with retention and encryption.",
        )
        data_quality_results = stack.format_arn(service="glue", resource="dataQualityRuleset", resource_name="*")
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="PublishDataQualityResults",
                actions=["glue:PublishDataQuality"],
                resources=[data_quality_results],
            )
        )
        acknowledge(
            self,
            resource_finding(self, "AwsSolutions-IAM5", data_quality_results),
            "EvaluateDataQuality in an ETL job publishes results under an evaluation context, not under a "
            "registered ruleset ARN; this is the resource AWS documents for glue:PublishDataQuality.",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="PublishGlueMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": ["Glue", "Glue Data Quality", METRICS_NAMESPACE]}},
            )
        )
        acknowledge(
            self,
            "AwsSolutions-IAM5[Resource::*]",
            "cloudwatch:PutMetricData supports no resource-level permissions; the statement is limited "
            "to the Glue, Glue Data Quality and the pipeline's own namespaces by condition.",
        )

    def _grant_catalog(self, sid: str, actions: list[str], database: str, tables: list[str]) -> None:
        """`actions` on the Data Catalog, `database` and its `tables`, and on nothing else there."""
        stack = Stack.of(self)
        resources = [
            stack.format_arn(service="glue", resource="catalog"),
            stack.format_arn(service="glue", resource="database", resource_name=database),
            *(stack.format_arn(service="glue", resource="table", resource_name=f"{database}/{table}") for table in tables),
        ]
        self.role.add_to_policy(iam.PolicyStatement(sid=sid, actions=actions, resources=resources))

    def _grant_s3(self, location: S3Location, object_actions: list[str]) -> None:
        bucket_arn = f"arn:{Aws.PARTITION}:s3:::{location.bucket}"
        object_arns = [f"{bucket_arn}/{location.object_pattern}"]
        if location.prefix:
            folder = location.prefix.removesuffix("/")  # parse_s3_uri ends every prefix with one "/"
            # Hadoop's S3 clients probe the folder key itself (a HEAD of "<folder>") and may write a
            # "<folder>_$folder$" marker beside it.
            object_arns += [f"{bucket_arn}/{folder}", f"{bucket_arn}/{folder}_$folder$"]
        self.role.add_to_policy(iam.PolicyStatement(actions=object_actions, resources=object_arns))
        acknowledge(
            self,
            resource_finding(self, "AwsSolutions-IAM5", object_arns[0]),
            f"Objects under {'the stack raw bucket' if Token.is_unresolved(location.bucket) else location.uri}: Spark "
            "names its files at run time, so the job needs every key under the configured prefix and nothing outside it.",
        )
        # Listing is granted on the whole bucket, not narrowed by s3:prefix: a HEAD or GET of a
        # missing key carries no prefix, and without s3:ListBucket S3 answers it 403 instead of 404
        # (Amazon S3 API Reference, HeadObject, "Permissions"), which Spark's S3 clients take for
        # access denied. Listing shows key names only; reading stays limited to the prefix above.
        self.role.add_to_policy(iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket_arn]))
