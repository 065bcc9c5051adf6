"""The Step Functions workflow: run the Glue job to completion, retry, and notify on failure."""

from __future__ import annotations

import math

from aws_cdk import Duration
from aws_cdk import aws_glue as glue
from aws_cdk import aws_kms as kms
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from glue_etl_pipeline.alerts import Alerts
from glue_etl_pipeline.compliance import acknowledge
from glue_etl_pipeline.config import RETRY_POLICY, EnvironmentConfig
from glue_etl_pipeline.etl_job import retained_log_group
from glue_etl_pipeline.naming import stack_instance_id
from gluescripts.etl.errors import DATA_QUALITY_FAILED

FAILURE_ERROR = "GlueEtlPipelineFailed"
DATA_QUALITY_ERROR = "DataQualityFailed"
JOB_RUN_ERROR = "GlueJobRunFailed"
JOB_RUN_STOPPED_ERROR = "GlueJobRunStopped"
# Set on every run the workflow starts (its execution): a failed run without it was started by
# someone else, and the report-failure function reports it (see failure_reports.py).
WORKFLOW_ARGUMENT = "--workflow_execution"
# Step Functions names a service integration's error after the service and the API's exception.
CONCURRENT_RUNS_ERROR = "Glue.ConcurrentRunsExceededException"
CONCURRENT_RUNS_POLL_SECONDS = 60
SUCCESS_MESSAGE = "The Glue ETL pipeline succeeded in environment {}.\n\nState machine: {}\nExecution: {}\nJob run: {}"
FAILURE_MESSAGE = (
    "The Glue ETL pipeline failed in environment {}.\n\n"
    "State machine: {}\nExecution: {}\nError: {}\nCause: {}"
)


class EtlWorkflow(Construct):
    """Standard state machine: StartJobRun (.sync), transient failures retried, data quality failures not; on failure, notify once and fail."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        job: glue.IJob,
        alerts: Alerts,
        log_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        run_job = tasks.GlueStartJobRun(
            self,
            "Run Glue job",
            glue_job_name=job.job_name,
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
            # Run arguments are added to the job's default arguments (AWS Glue API, StartJobRun "Arguments").
            arguments=sfn.TaskInput.from_object({WORKFLOW_ARGUMENT: sfn.JsonPath.execution_id}),
            # The full JobRun carries timestamps and arguments; keep what an operator needs.
            result_selector={
                "JobRunId.$": "$.Id",
                "JobRunState.$": "$.JobRunState",
                "ExecutionTime.$": "$.ExecutionTime",
            },
            result_path="$.glue",
        )
        # Inside a Parallel so a failure can be told apart before retrying: the job's data quality
        # verdict (its marker in the run's ErrorMessage, which the task failure's Cause carries as
        # JobRun JSON) is re-raised under its own name and not retried, since a rerun would only
        # repeat it; anything else is re-raised as a job failure and retried with backoff and jitter.
        # A Fail state may not raise a "States." name, hence the pipeline's own names.
        # A run someone stopped (JobRunState STOPPED, in the cause's JobRun JSON with or without a
        # space after the colon) is their decision: not retried either.
        stopped = sfn.Condition.or_(
            *(sfn.Condition.string_matches("$.error.Cause", f'*"JobRunState":{space}"STOPPED"*') for space in ("", " "))
        )
        classify = (
            sfn.Choice(self, "Classify failure")
            .when(
                sfn.Condition.string_matches("$.error.Cause", f"*{DATA_QUALITY_FAILED}*"),
                sfn.Fail(self, "Data quality failed", error=DATA_QUALITY_ERROR, cause_path="$.error.Cause"),
            )
            .when(stopped, sfn.Fail(self, "Job run stopped", error=JOB_RUN_STOPPED_ERROR, cause_path="$.error.Cause"))
            .otherwise(sfn.Fail(self, "Job run failed", error=JOB_RUN_ERROR, cause_path="$.error.Cause"))
        )
        if config.flex:
            # A Flex job has no run queue, so Glue refuses a start while a run is active. Waiting it out
            # here takes the place of Glue's queue, within the same share of the time budget.
            run_job.add_retry(
                errors=[CONCURRENT_RUNS_ERROR],
                interval=Duration.seconds(CONCURRENT_RUNS_POLL_SECONDS),
                backoff_rate=1,
                max_attempts=math.ceil(config.queued_run_seconds / CONCURRENT_RUNS_POLL_SECONDS),
            )
        run_job.add_catch(classify, result_path="$.error")
        # Step Functions' .sync may also return a STOPPED run as the task's result rather than fail
        # the task (moto's port of LocalStack's integration does): either way it ends as a stopped run.
        finished = (
            sfn.Choice(self, "Run stopped?")
            .when(
                sfn.Condition.string_equals("$.glue.JobRunState", "STOPPED"),
                sfn.Fail(
                    self,
                    "Stopped run",
                    error=JOB_RUN_STOPPED_ERROR,
                    cause_path=sfn.JsonPath.format("Job run {} was stopped", sfn.JsonPath.string_at("$.glue.JobRunId")),
                ),
            )
            .otherwise(sfn.Pass(self, "Run finished"))
        )
        run_job.next(finished)
        # The one branch's output (the input plus the job run) is what follows the attempt.
        attempt = sfn.Parallel(self, "Attempt", output_path="$[0]")
        attempt.branch(run_job)
        attempt.add_retry(errors=[DATA_QUALITY_ERROR, JOB_RUN_STOPPED_ERROR], max_attempts=0)
        # Retriers and catchers left without `errors` match States.ALL (CDK's default).
        attempt.add_retry(
            max_attempts=RETRY_POLICY.max_attempts,
            interval=Duration.seconds(RETRY_POLICY.interval_seconds),
            backoff_rate=RETRY_POLICY.backoff_rate,
            jitter_strategy=sfn.JitterType.FULL,
        )
        notify_failure = self._notification(
            "Notify failure",
            alerts,
            f"[{config.name}] Glue ETL pipeline failed",
            FAILURE_MESSAGE,
            config.name,
            sfn.JsonPath.string_at("$.error.Error"),
            sfn.JsonPath.string_at("$.error.Cause"),
        )
        failed = sfn.Fail(self, "Pipeline failed", error=FAILURE_ERROR, cause_path="$.error.Cause")
        attempt.add_catch(notify_failure.next(failed), result_path="$.error")
        succeeded = sfn.Succeed(self, "Pipeline succeeded")
        if config.notify_on_success:
            notify_success = self._notification(
                "Notify success",
                alerts,
                f"[{config.name}] Glue ETL pipeline succeeded",
                SUCCESS_MESSAGE,
                config.name,
                sfn.JsonPath.string_at("$.glue.JobRunId"),
            )
            # A run whose data is written must not be reported failed because a notice could not be sent.
            notify_success.add_catch(succeeded, result_path="$.notificationError")
            attempt.next(notify_success).next(succeeded)
        else:
            attempt.next(succeeded)
        # An execution started for a coalescing window waits until the window has closed, so its run
        # reads every object created in it; scheduled and catch-up runs start at once.
        definition = (
            sfn.Choice(self, "Started for a window?")
            .when(
                sfn.Condition.is_present("$.window.end"),
                sfn.Wait(self, "Wait for the window to close", time=sfn.WaitTime.timestamp_path("$.window.end")).next(attempt),
            )
            .otherwise(attempt)
        )

        # The vendedlogs prefix keeps CloudWatch's resource policy from growing per state machine;
        # the stack instance in the name keeps a retained group from blocking the next create.
        self.log_group = retained_log_group(
            self, "Logs", f"/aws/vendedlogs/states/glue-etl-pipeline-{config.name.lower()}-{stack_instance_id()}", log_key
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=f"glue-etl-pipeline-{config.name.lower()}",
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            timeout=Duration.minutes(config.execution_timeout_minutes),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        alerts.grant_encryption(self.state_machine)
        acknowledge(
            self.state_machine.role,
            "AwsSolutions-IAM5[Resource::*]",
            "Step Functions' log delivery (logs:CreateLogDelivery and related) and X-Ray actions support "
            "no resource-level permissions; CDK adds exactly those for logging and tracing.",
        )

    def _notification(self, state_name: str, alerts: Alerts, subject: str, template: str, environment: str, *details: str) -> tasks.SnsPublish:
        """An SNS publish of `template` filled with the environment, state machine, execution and `details`."""
        return tasks.SnsPublish(
            self,
            state_name,
            topic=alerts.topic,
            subject=subject,
            message=sfn.TaskInput.from_text(
                sfn.JsonPath.format(
                    template, environment, sfn.JsonPath.state_machine_name, sfn.JsonPath.execution_id, *details
                )
            ),
            result_path=sfn.JsonPath.DISCARD,
        )
