"""One environment's pipeline: the job, the workflow that runs it, its trigger and its alerts."""

from __future__ import annotations

from aws_cdk import CfnOutput, Environment, Stack
from aws_cdk import aws_kms as kms
from constructs import Construct

from glue_etl_pipeline.alerts import Alerts
from glue_etl_pipeline.config import EnvironmentConfig, S3Location
from glue_etl_pipeline.etl_job import EtlJob
from glue_etl_pipeline.failure_reports import FailureReports
from glue_etl_pipeline.monitoring import Monitoring
from glue_etl_pipeline.raw_data import RawDataBucket
from glue_etl_pipeline.triggers import ObjectCreatedTrigger, ScheduledTrigger, grant_events_use_of
from glue_etl_pipeline.workflow import EtlWorkflow


_STARTED_BY = {
    "schedule": "started on schedule",
    "s3": "started by new raw data",
    "both": "started on schedule and by new raw data",
}


class GlueEtlPipelineStack(Stack):
    def __init__(self, scope: Construct, *, config: EnvironmentConfig) -> None:
        super().__init__(
            scope,
            config.stack_name,
            description=f"Glue ETL pipeline ({config.name}): catalog JSON to Parquet, {_STARTED_BY[config.trigger]}",
            env=Environment(account=config.account, region=config.region),
        )
        messaging_key = kms.Key(
            self,
            "MessagingKey",
            description=f"Encrypts the {config.name} Glue ETL pipeline's notification topic and queues",
            enable_key_rotation=True,
        )
        grant_events_use_of(messaging_key, self)
        alerts = Alerts(self, "Alerts", config=config, key=messaging_key)
        source = config.source_s3_location
        if config.creates_raw_bucket:
            raw_data = RawDataBucket(self, "RawData", config=config)
            source = S3Location(raw_data.bucket.bucket_name, "")
            CfnOutput(self, "RawBucketName", value=raw_data.bucket.bucket_name, description="Upload raw JSON here")
        etl_job = EtlJob(self, "EtlJob", config=config, source=source)
        # The job's key encrypts every log group of the pipeline (each named in its key policy).
        workflow = EtlWorkflow(self, "Workflow", config=config, job=etl_job.job, alerts=alerts, log_key=etl_job.key)
        monitoring = Monitoring(self, "Monitoring", config=config, state_machine=workflow.state_machine, alerts=alerts)
        reports = FailureReports(
            self,
            "FailureReports",
            config=config,
            state_machine=workflow.state_machine,
            job_name=etl_job.job_name,
            alerts=alerts,
            key=messaging_key,
            log_key=etl_job.key,
        )
        monitoring.watch_rule(reports.execution_rule, "execution-ended")
        monitoring.watch_rule(reports.job_run_rule, "job-run-failed")
        monitoring.watch_function(reports.function, "report-failure")
        monitoring.watch_dead_letter_queue(reports.dead_letter_queue, "report-failure")
        schedules = {}
        if config.scheduled:
            schedules["schedule"] = ScheduledTrigger(
                self, "Schedule", config=config, state_machine=workflow.state_machine, key=messaging_key
            )
        if config.on_object_created:
            # Every environment fed by S3 events also runs daily, so an object whose event was lost is read.
            schedules["catch-up"] = ScheduledTrigger(
                self, "CatchUp", config=config, state_machine=workflow.state_machine, key=messaging_key, catch_up=True
            )
        for name, schedule in schedules.items():
            monitoring.watch_rule(schedule.rule, name)
            monitoring.watch_dead_letter_queue(schedule.dead_letter_queue, name)
        if config.on_object_created:
            object_created = ObjectCreatedTrigger(
                self,
                "ObjectCreated",
                config=config,
                source=source,
                state_machine=workflow.state_machine,
                key=messaging_key,
                log_key=etl_job.key,
            )
            monitoring.watch_rule(object_created.rule, "object-created")
            monitoring.watch_function(object_created.function, "start-pipeline")
            monitoring.watch_dead_letter_queue(object_created.dead_letter_queue, "start-pipeline")

        dashboard = monitoring.add_dashboard()

        CfnOutput(self, "DashboardName", value=dashboard.dashboard_name, description="CloudWatch dashboard of the pipeline")
        CfnOutput(self, "GlueJobName", value=etl_job.job.job_name, description="Glue job that converts the data")
        CfnOutput(
            self,
            "StateMachineArn",
            value=workflow.state_machine.state_machine_arn,
            description="Start a run by hand with aws stepfunctions start-execution",
        )
        CfnOutput(self, "TopicArn", value=alerts.topic.topic_arn, description="Failure notifications")
