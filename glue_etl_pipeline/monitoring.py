"""Alarms on the workflow, the Glue job and the triggers' delivery paths, notifying the pipeline's topic."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from glue_etl_pipeline.alerts import Alerts
from glue_etl_pipeline.config import EnvironmentConfig

PERIOD = Duration.minutes(5)
GLUE_RUN_FAILURE_STATES = ["FAILED", "TIMEOUT", "ERROR"]


class Monitoring(Construct):
    """One alarm per way a run can go wrong; each fires on the first occurrence in five minutes."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        state_machine: sfn.StateMachine,
        job_name: str,
        alerts: Alerts,
    ) -> None:
        super().__init__(scope, construct_id)
        prefix = f"glue-etl-pipeline-{config.name.lower()}"
        notify = cloudwatch_actions.SnsAction(alerts.topic)
        alerts.allow_alarms()
        workflow_metrics = {
            "executions-failed": state_machine.metric_failed(period=PERIOD, statistic="Sum"),
            "executions-timed-out": state_machine.metric_timed_out(period=PERIOD, statistic="Sum"),
            "executions-aborted": state_machine.metric_aborted(period=PERIOD, statistic="Sum"),
            "executions-throttled": state_machine.metric_throttled(period=PERIOD, statistic="Sum"),
        }
        # Glue reports each run's end as an event; a rule matching this job's failed ends counts them,
        # including runs started by hand outside the state machine.
        self.glue_failures = events.Rule(
            self,
            "GlueJobRunFailed",
            description=f"Counts failed, timed-out and errored runs of {config.name}'s Glue job",
            event_pattern=events.EventPattern(
                source=["aws.glue"],
                detail_type=["Glue Job State Change"],
                detail={"jobName": [job_name], "state": GLUE_RUN_FAILURE_STATES},
            ),
        )
        glue_metric = cloudwatch.Metric(
            namespace="AWS/Events",
            metric_name="TriggeredRules",
            dimensions_map={"RuleName": self.glue_failures.rule_name},
            period=PERIOD,
            statistic="Sum",
        )
        self._prefix, self._environment, self._notify = prefix, config.name, notify
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for suffix, metric in {**workflow_metrics, "glue-job-run-failed": glue_metric}.items():
            self._alarm(suffix, metric)

    def watch_dead_letter_queue(self, queue: sqs.IQueue, name: str) -> None:
        """Alarm when an event lands in `queue`: it was not delivered and waits for a redrive."""
        self._alarm(
            f"{name}-dead-letters",
            queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum"),
        )

    def watch_rule(self, rule: events.IRule, name: str) -> None:
        """Alarm when EventBridge fails to invoke `rule`'s target (before its retries and dead-letter queue)."""
        self._alarm(
            f"{name}-failed-invocations",
            cloudwatch.Metric(
                namespace="AWS/Events",
                metric_name="FailedInvocations",
                dimensions_map={"RuleName": rule.rule_name},
                period=PERIOD,
                statistic="Sum",
            ),
        )

    def watch_function(self, function: lambda_.IFunction, name: str) -> None:
        """Alarm on the function's errors, and on asynchronous events Lambda dropped without a retry left."""
        self._alarm(f"{name}-errors", function.metric_errors(period=PERIOD, statistic="Sum"))
        self._alarm(
            f"{name}-async-events-dropped",
            cloudwatch.Metric(
                namespace="AWS/Lambda",
                metric_name="AsyncEventsDropped",
                dimensions_map={"FunctionName": function.function_name},
                period=PERIOD,
                statistic="Sum",
            ),
        )

    def _alarm(self, suffix: str, metric: cloudwatch.IMetric) -> None:
        alarm = metric.create_alarm(
            self,
            suffix,
            alarm_name=f"{self._prefix}-{suffix}",
            alarm_description=f"{self._environment} Glue ETL pipeline: {suffix.replace('-', ' ')}",
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(self._notify)
        self.alarms[suffix] = alarm
