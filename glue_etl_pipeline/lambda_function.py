"""The pipeline's small Lambda functions, built alike: own role, retained named log group, dead-letter queue."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from glue_etl_pipeline.compliance import acknowledge, resource_finding, skip_checkov
from glue_etl_pipeline.config import EnvironmentConfig
from glue_etl_pipeline.etl_job import retained_log_group
from glue_etl_pipeline.naming import stack_instance_id

FUNCTIONS_DIR = Path(__file__).resolve().parent / "functions"
# EventBridge retries a failed delivery for up to an hour, then parks the event in the dead-letter
# queue (alarmed).
MAX_EVENT_AGE = Duration.hours(1)
TARGET_RETRY_ATTEMPTS = 10
# The checkov checks every pipeline function is exempt from, each with the reason a reviewer reads.
_CHECKOV_SKIPS = (
    ("CKV_AWS_117", "The function only calls AWS APIs; a VPC would add NAT or endpoints and protect nothing."),
    (
        "CKV_AWS_173",
        "Its environment holds only resource names, ARNs and settings, none of them secret; Lambda encrypts it "
        "at rest with an AWS-owned key.",
    ),
    (
        "CKV_AWS_115",
        "A burst of events must each be handled (duplicates are harmless); a reserved concurrency would "
        "throttle them into retries and the dead-letter queue.",
    ),
)
_XRAY_WILDCARD_REASON = "X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permissions."


def pipeline_function(
    scope: Construct,
    function_id: str,
    *,
    config: EnvironmentConfig,
    name: str,
    description: str,
    environment: dict[str, str],
    dead_letter_queue: sqs.IQueue,
    key: kms.IKey,
    log_key: kms.IKey,
) -> lambda_.Function:
    """The function `functions/<name>/handler.py`, created in `scope` as `function_id` beside its "Logs" and "Role".

    Its role may write its own log group, send to its dead-letter queue under `key` and trace with
    X-Ray; whatever else it calls is granted by the caller.
    """
    # Named, so the log key's policy can name it.
    log_group = retained_log_group(
        scope, "Logs", f"/aws/lambda/glue-etl-pipeline-{config.name.lower()}-{name.replace('_', '-')}-{stack_instance_id()}", log_key
    )
    # Its own role instead of AWSLambdaBasicExecutionRole: write to its log group, nothing else by default.
    role = iam.Role(scope, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"), description=description)
    log_group.grant_write(role)
    function = lambda_.Function(
        scope,
        function_id,
        description=description,
        runtime=lambda_.Runtime.PYTHON_3_14,
        architecture=lambda_.Architecture.ARM_64,
        handler="handler.handler",
        role=role,
        code=lambda_.Code.from_asset(str(FUNCTIONS_DIR / name), exclude=["__pycache__", "__init__.py"]),
        timeout=Duration.seconds(30),
        memory_size=256,
        environment=environment,
        logging_format=lambda_.LoggingFormat.JSON,
        log_group=log_group,
        tracing=lambda_.Tracing.ACTIVE,
        dead_letter_queue=dead_letter_queue,
        retry_attempts=2,
        max_event_age=MAX_EVENT_AGE,
    )
    for check, reason in _CHECKOV_SKIPS:
        skip_checkov(function, check, reason)
    # Failed asynchronous invocations land in the encrypted dead-letter queue under the function's role.
    key.grant(function, "kms:GenerateDataKey", "kms:Decrypt")
    acknowledge(role, "AwsSolutions-IAM5[Resource::*]", _XRAY_WILDCARD_REASON)
    return function


def allow_reading_executions(function: lambda_.Function, state_machine: sfn.IStateMachine, reason: str) -> None:
    """Let `function` read the status of `state_machine`'s executions (states:DescribeExecution), and no other's.

    Execution names are chosen at run time, so the resource ends in `*`: the finding is acknowledged with `reason`.
    """
    executions = Stack.of(function).format_arn(
        service="states",
        resource="execution",
        resource_name=f"{state_machine.state_machine_name}:*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    function.add_to_role_policy(iam.PolicyStatement(actions=["states:DescribeExecution"], resources=[executions]))
    acknowledge(function.role, resource_finding(function, "AwsSolutions-IAM5", executions), reason)
