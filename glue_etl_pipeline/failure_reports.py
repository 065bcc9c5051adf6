"""One message per incident: what the state machine cannot report itself goes through a small Lambda.

The state machine's own message covers every failure of a run it catches. An execution that ends
any other way (timed out, stopped, or failed before its message was sent) and a Glue run started
outside the workflow are reported by `functions/report_failure`, with their cause. Both come as
EventBridge events that AWS sends for every state change, without any configuration: "Step
Functions Execution Status Change" (AWS Step Functions Developer Guide, "Automating Step Functions
event delivery with EventBridge") and "Glue Job State Change" (AWS Glue Developer Guide,
"Automating AWS Glue with EventBridge").
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from glue_etl_pipeline.alerts import Alerts
from glue_etl_pipeline.config import EnvironmentConfig
from glue_etl_pipeline.lambda_function import MAX_EVENT_AGE, TARGET_RETRY_ATTEMPTS, allow_reading_executions, pipeline_function
from glue_etl_pipeline.triggers import dead_letter_queue
from glue_etl_pipeline.workflow import FAILURE_ERROR, WORKFLOW_ARGUMENT

# Every end of an execution but success; the function drops the failures the state machine reported.
EXECUTION_ENDS = ["FAILED", "TIMED_OUT", "ABORTED"]
# A run's failed ends; STOPPED is someone's decision, not an incident.
JOB_RUN_FAILURES = ["FAILED", "TIMEOUT", "ERROR"]


class FailureReports(Construct):
    """The report-failure function and the two rules that feed it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        state_machine: sfn.IStateMachine,
        job_name: str,
        alerts: Alerts,
        key: kms.IKey,
        log_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue = dead_letter_queue(self, "DeadLetterQueue", key)
        self.function = pipeline_function(
            self,
            "ReportFailure",
            config=config,
            name="report_failure",
            description=f"Reports the {config.name} pipeline's failures that its state machine cannot report",
            environment={
                "TOPIC_ARN": alerts.topic.topic_arn,
                "ENVIRONMENT": config.name,
                "FAILURE_ERROR": FAILURE_ERROR,
                "WORKFLOW_ARGUMENT": WORKFLOW_ARGUMENT,
            },
            dead_letter_queue=self.dead_letter_queue,
            key=key,
            log_key=log_key,
        )
        # Exact actions: the topic's own grant would add kms:GenerateDataKey* on its key.
        self.function.add_to_role_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=[alerts.topic.topic_arn]))
        alerts.grant_encryption(self.function)
        job_arn = Stack.of(self).format_arn(service="glue", resource="job", resource_name=job_name)
        self.function.add_to_role_policy(iam.PolicyStatement(actions=["glue:GetJobRun"], resources=[job_arn]))
        allow_reading_executions(
            self.function,
            state_machine,
            "Execution names are chosen at run time; the function may only read the status of this state machine's executions.",
        )

        self.execution_rule = events.Rule(
            self,
            "ExecutionEnded",
            description=f"Ends of the {config.name} state machine's executions other than success",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={"stateMachineArn": [state_machine.state_machine_arn], "status": EXECUTION_ENDS},
            ),
        )
        self.job_run_rule = events.Rule(
            self,
            "JobRunFailed",
            description=f"Failed, timed-out and errored runs of the {config.name} Glue job",
            event_pattern=events.EventPattern(
                source=["aws.glue"],
                detail_type=["Glue Job State Change"],
                detail={"jobName": [job_name], "state": JOB_RUN_FAILURES},
            ),
        )
        for rule in (self.execution_rule, self.job_run_rule):
            rule.add_target(
                targets.LambdaFunction(
                    self.function,
                    dead_letter_queue=self.dead_letter_queue,
                    max_event_age=MAX_EVENT_AGE,
                    retry_attempts=TARGET_RETRY_ATTEMPTS,
                )
            )
