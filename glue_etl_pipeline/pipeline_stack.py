"""One environment's pipeline: the job, the workflow that runs it, its trigger and its alerts."""

from __future__ import annotations

from aws_cdk import CfnOutput, Environment, Stack
from aws_cdk import aws_kms as kms
from constructs import Construct

from glue_etl_pipeline.alerts import Alerts
from glue_etl_pipeline.config import EnvironmentConfig
from glue_etl_pipeline.etl_job import EtlJob
from glue_etl_pipeline.schedule import ScheduledTrigger
from glue_etl_pipeline.workflow import EtlWorkflow


class GlueEtlPipelineStack(Stack):
    def __init__(self, scope: Construct, *, config: EnvironmentConfig) -> None:
        super().__init__(
            scope,
            config.stack_name,
            description=f"Glue ETL pipeline ({config.name}): JSON in the Glue catalog to Parquet, hourly",
            env=Environment(account=config.account, region=config.region),
        )
        messaging_key = kms.Key(
            self,
            "MessagingKey",
            description=f"Encrypts the {config.name} Glue ETL pipeline's notification topic and queues",
            enable_key_rotation=True,
        )
        alerts = Alerts(self, "Alerts", config=config, key=messaging_key)
        etl_job = EtlJob(self, "EtlJob", config=config)
        workflow = EtlWorkflow(self, "Workflow", config=config, job=etl_job.job, alerts=alerts)
        ScheduledTrigger(
            self, "Schedule", config=config, state_machine=workflow.state_machine, key=messaging_key
        )

        CfnOutput(self, "GlueJobName", value=etl_job.job.job_name, description="Glue job that converts the data")
        CfnOutput(
            self,
            "StateMachineArn",
            value=workflow.state_machine.state_machine_arn,
            description="Start a run by hand with aws stepfunctions start-execution",
        )
        CfnOutput(self, "TopicArn", value=alerts.topic.topic_arn, description="Failure notifications")
