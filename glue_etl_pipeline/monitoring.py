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
from gluescripts.etl.metrics import (
    ENVIRONMENT, NAMESPACE, RECORDS_QUARANTINED, RECORDS_READ, RECORDS_WRITTEN, RUN_DURATION,
)

# Every alarm and graph here reads five-minute periods: CDK's default period of a metric and of a math
# expression (MetricProps.period, MathExpressionProps.period). The canned metrics' default statistics
# are the ones wanted (the state machine's counts and Lambda's errors: sum; a queue's visible
# messages: maximum), so only what differs from CDK's defaults is stated; the tests pin the rendered
# period and statistic of every alarm and widget.


def _summed(namespace: str, metric_name: str, dimension: str, value: str) -> cloudwatch.Metric:
    """A service metric of one resource, summed over the alarm period (a plain Metric averages by default)."""
    return cloudwatch.Metric(
        namespace=namespace, metric_name=metric_name, dimensions_map={dimension: value}, statistic=cloudwatch.Stats.SUM
    )


class Monitoring(Construct):
    """Alarms for what no run reports itself (stale data, undelivered events, failing functions), each on its first occurrence in five minutes."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        state_machine: sfn.StateMachine,
        alerts: Alerts,
    ) -> None:
        super().__init__(scope, construct_id)
        prefix = f"glue-etl-pipeline-{config.name.lower()}"
        notify = cloudwatch_actions.SnsAction(alerts.topic)
        alerts.allow_alarms()
        self._prefix, self._environment, self._notify = prefix, config.name, notify
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        # Failed, timed-out and aborted executions are reported once, with their cause, by the state
        # machine or the report-failure function (failure_reports.py); a throttled start is neither.
        self._alarm("executions-throttled", state_machine.metric_throttled())
        # Every run "succeeding" on no data is a failure too: no record written for freshness_hours.
        hourly_written = self.run_metric(RECORDS_WRITTEN, cloudwatch.Stats.SUM, Duration.hours(1))
        self.alarms["no-fresh-records"] = hourly_written.create_alarm(
            self,
            "no-fresh-records",
            alarm_name=f"{prefix}-no-fresh-records",
            alarm_description=f"{config.name} Glue ETL pipeline: no record written for {config.freshness_hours} hours",
            threshold=1,
            evaluation_periods=config.freshness_hours,
            datapoints_to_alarm=config.freshness_hours,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            # No run at all publishes nothing: that is as stale as a run that wrote nothing.
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )
        self.alarms["no-fresh-records"].add_alarm_action(notify)
        self._state_machine, self._config = state_machine, config
        self._dead_letter_queues: dict[str, sqs.IQueue] = {}

    def run_metric(self, name: str, statistic: str, period: Duration | None = None) -> cloudwatch.Metric:
        """One of the metrics each Glue run publishes, for this environment (five-minute periods unless `period`)."""
        return cloudwatch.Metric(
            namespace=NAMESPACE, metric_name=name, dimensions_map={ENVIRONMENT: self._environment}, period=period, statistic=statistic
        )

    def add_dashboard(self) -> cloudwatch.Dashboard:
        """One dashboard per environment: executions, run time, records, the quarantined share, queues, alarms."""
        machine = self._state_machine
        read, quarantined = self.run_metric(RECORDS_READ, cloudwatch.Stats.SUM), self.run_metric(RECORDS_QUARANTINED, cloudwatch.Stats.SUM)
        share = cloudwatch.MathExpression(
            expression="IF(read > 0, quarantined / read, 0)",
            using_metrics={"read": read, "quarantined": quarantined},
            label="quarantined share",
        )
        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=self._prefix)
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Executions",
                left=[
                    machine.metric_started(),
                    machine.metric_succeeded(),
                    machine.metric_failed(),
                    machine.metric_timed_out(),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Glue run time (seconds)",
                left=[self.run_metric(RUN_DURATION, cloudwatch.Stats.MAXIMUM), self.run_metric(RUN_DURATION, cloudwatch.Stats.AVERAGE)],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Records",
                left=[read, self.run_metric(RECORDS_WRITTEN, cloudwatch.Stats.SUM), quarantined],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Quarantined share against max_quarantine_fraction",
                left=[share],
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(
                        value=self._config.max_quarantine_fraction, label="max_quarantine_fraction", color="#d62728"
                    )
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Dead-letter queues (messages waiting)",
                left=[
                    queue.metric_approximate_number_of_messages_visible(label=name)
                    for name, queue in self._dead_letter_queues.items()
                ],
                width=12,
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values()), width=12),
        )
        return dashboard

    def watch_dead_letter_queue(self, queue: sqs.IQueue, name: str) -> None:
        """Alarm when an event lands in `queue`: it was not delivered and waits for a redrive."""
        self._dead_letter_queues[name] = queue
        self._alarm(
            f"{name}-dead-letters",
            queue.metric_approximate_number_of_messages_visible(),
        )

    def watch_rule(self, rule: events.IRule, name: str) -> None:
        """Alarm when EventBridge fails to invoke `rule`'s target (before its retries and dead-letter queue)."""
        self._alarm(
            f"{name}-failed-invocations", _summed("AWS/Events", "FailedInvocations", "RuleName", rule.rule_name)
        )

    def watch_function(self, function: lambda_.IFunction, name: str) -> None:
        """Alarm on the function's errors, and on asynchronous events Lambda dropped without a retry left."""
        self._alarm(f"{name}-errors", function.metric_errors())
        self._alarm(
            f"{name}-async-events-dropped",
            _summed("AWS/Lambda", "AsyncEventsDropped", "FunctionName", function.function_name),
        )

    def _alarm(self, suffix: str, metric: cloudwatch.IMetric) -> None:
        alarm = metric.create_alarm(
            self,
            suffix,
            alarm_name=f"{self._prefix}-{suffix}",
            alarm_description=f"{self._environment} Glue ETL pipeline: {suffix.replace('-', ' ')}",
            threshold=1,
            evaluation_periods=1,
            # CDK's default comparison, greater than or equal to the threshold: one event is one too many.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(self._notify)
        self.alarms[suffix] = alarm
