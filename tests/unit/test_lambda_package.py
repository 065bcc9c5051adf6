"""Each function's package, as CDK ships it: the asset folder from the cloud assembly.

Imported in a fresh interpreter that sees only that folder and the runtime's libraries (boto3), its
`handler.handler` (the function's Handler setting) runs one real event against moto.
"""

from __future__ import annotations

import json
import subprocess
import sys

from aws_cdk import App, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template

from glue_etl_pipeline import lambda_function
from tests.helpers import PROJECT_ROOT

SCRIPT = r"""
import json, os, sys
sys.path.insert(0, sys.argv[1])
from moto import mock_aws
import boto3
with mock_aws():
    client = boto3.client("stepfunctions", region_name="eu-west-1")
    arn = client.create_state_machine(
        name="glue-etl-pipeline-dev", roleArn="arn:aws:iam::123456789012:role/r",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
    )["stateMachineArn"]
    os.environ.update(STATE_MACHINE_ARN=arn, BUCKET_NAME="example-travel-raw-test", KEY_PREFIX="complaints/", KEY_SUFFIX=".json", WINDOW_MINUTES="5")
    module_name, function_name = sys.argv[2].rsplit(".", 1)
    module = __import__(module_name)
    result = getattr(module, function_name)(json.load(open(sys.argv[3])), None)
    print(json.dumps({"file": module.__file__, "result": result, "executions": len(client.list_executions(stateMachineArn=arn)["executions"])}))
"""


def test_the_shipped_folder_holds_the_handler_and_it_starts_an_execution(dev_template, assembly_dir):
    (function,) = [
        r["Properties"] for i, r in dev_template.find_resources("AWS::Lambda::Function").items() if i.startswith("ObjectCreatedStartPipeline")
    ]
    asset = assembly_dir / f"asset.{function['Code']['S3Key'].removesuffix('.zip')}"
    assert sorted(p.name for p in asset.iterdir()) == ["handler.py"]  # no tests, caches or package markers
    environment = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "eu-west-1", "PATH": "/usr/bin:/bin"}
    completed = subprocess.run(
        [sys.executable, "-I", "-c", SCRIPT, str(asset), function["Handler"], str(PROJECT_ROOT / "tests" / "fixtures" / "s3_object_created.json")],
        capture_output=True, text=True, env=environment, cwd=asset, timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    outcome = json.loads(completed.stdout.strip().splitlines()[-1])
    assert outcome["file"].startswith(str(asset))
    assert outcome["result"]["status"] == "started" and outcome["executions"] == 1


REPORT_SCRIPT = r"""
import json, os, sys
sys.path.insert(0, sys.argv[1])
from moto import mock_aws
import boto3
with mock_aws():
    topic = boto3.client("sns", region_name="eu-west-1").create_topic(Name="alerts")["TopicArn"]
    glue = boto3.client("glue", region_name="eu-west-1")
    glue.create_job(Name="job", Role="arn:aws:iam::123456789012:role/g", Command={"Name": "glueetl", "ScriptLocation": "s3://b/k.py"})
    run_id = glue.start_job_run(JobName="job")["JobRunId"]
    os.environ.update(TOPIC_ARN=topic, ENVIRONMENT="PROD", FAILURE_ERROR="GlueEtlPipelineFailed", WORKFLOW_ARGUMENT="--workflow_execution")
    module_name, function_name = sys.argv[2].rsplit(".", 1)
    module = __import__(module_name)
    event = {"source": "aws.glue", "detail-type": "Glue Job State Change", "id": "e",
             "detail": {"jobName": "job", "state": "FAILED", "jobRunId": run_id, "message": "failed"}}
    print(json.dumps({"file": module.__file__, "result": getattr(module, function_name)(event, None)}))
"""


def test_the_shipped_report_failure_folder_holds_the_handler_and_it_publishes(prod_template, assembly_dir):
    (function,) = [
        r["Properties"] for i, r in prod_template.find_resources("AWS::Lambda::Function").items() if i.startswith("FailureReportsReportFailure")
    ]
    asset = assembly_dir / f"asset.{function['Code']['S3Key'].removesuffix('.zip')}"
    assert sorted(p.name for p in asset.iterdir()) == ["handler.py"]
    environment = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "eu-west-1", "PATH": "/usr/bin:/bin"}
    completed = subprocess.run(
        [sys.executable, "-I", "-c", REPORT_SCRIPT, str(asset), function["Handler"]],
        capture_output=True, text=True, env=environment, cwd=asset, timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    outcome = json.loads(completed.stdout.strip().splitlines()[-1])
    assert outcome["file"].startswith(str(asset)) and outcome["result"]["status"] == "published"


def test_a_package_leaves_out_the_caches_and_package_markers_a_working_copy_holds(project_config, tmp_path, monkeypatch):
    """Any test or local run leaves `__pycache__` beside a handler; the session's own synth may run
    before one exists, so this builds a function from a folder that has both."""
    source = tmp_path / "functions" / "example"
    (source / "__pycache__").mkdir(parents=True)
    (source / "handler.py").write_text("def handler(event, context):\n    return event\n")
    (source / "__init__.py").write_text("")
    (source / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"\x00")
    monkeypatch.setattr(lambda_function, "FUNCTIONS_DIR", source.parent)
    app = App(outdir=str(tmp_path / "cdk.out"))
    stack = Stack(app, "Example")
    key = kms.Key(stack, "Key")
    lambda_function.pipeline_function(
        stack, "Function", config=project_config.select("DEV")[0], name="example", description="An example",
        environment={}, dead_letter_queue=sqs.Queue(stack, "DeadLetters"), key=key, log_key=key,
    )
    app.synth()
    (function,) = Template.from_stack(stack).find_resources("AWS::Lambda::Function").values()
    asset = tmp_path / "cdk.out" / f"asset.{function['Properties']['Code']['S3Key'].removesuffix('.zip')}"
    assert sorted(path.name for path in asset.iterdir()) == ["handler.py"]
