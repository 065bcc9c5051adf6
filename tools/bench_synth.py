"""`make bench-synth`: `cdk synth` of the three environments (cdk-nag on) against a one-bucket CDK app, in one run.

Both are synthesized by the pinned CDK CLI (`npx cdk synth --quiet`), alternately, three times each;
the medians are compared (target: at most 2.0 x). Then the project's synth is taken apart in one
Python process, each phase timed once: starting Python with the CDK's jsii runtime (a Node.js
child), building the three stacks' constructs, and synthesizing them with and without cdk-nag, so
the cost of each part is known before any is changed. The first build and synth in a process
pays one-time costs (the jsii runtime loading each construct library, the assets' first hashing),
so the later phases are timed after it.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 2.0
RUNS = 3
ONE_BUCKET_APP = """\
from aws_cdk import App, Stack, aws_s3 as s3

app = App()
s3.Bucket(Stack(app, "OneBucket"), "Bucket")
app.synth()
"""
# Run in a fresh interpreter: the phases of the project's own synth, as `python app.py` runs them.
PHASES = """\
import sys, time
started = time.perf_counter()
from aws_cdk import App, Aspects, Validations
from cdk_nag import AwsSolutionsChecks
from glue_etl_pipeline.compliance import DropRedundantDependsOn
from glue_etl_pipeline.config import load_config
from glue_etl_pipeline.main import CONFIG_FILE
from glue_etl_pipeline.pipeline_stack import GlueEtlPipelineStack
imported = time.perf_counter()
App()  # starts the jsii runtime
runtime = time.perf_counter()
config = load_config(CONFIG_FILE)

def build(outdir, nag):
    app = App(outdir=outdir)
    if nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    Aspects.of(app).add(DropRedundantDependsOn())
    for environment in config.select(None):
        GlueEtlPipelineStack(app, config=environment)
    return app

begun = time.perf_counter()
build(sys.argv[1] + "/first", nag=False).synth()
first = time.perf_counter()
app = build(sys.argv[1] + "/plain", nag=False)
built = time.perf_counter()
app.synth()
synthesized = time.perf_counter()
app = build(sys.argv[1] + "/nag", nag=True)
rebuilt = time.perf_counter()
app.synth()
with_nag = time.perf_counter()
print(f"{imported - started:.2f} {runtime - imported:.2f} {first - begun:.2f} {built - first:.2f} {synthesized - built:.2f} {with_nag - rebuilt:.2f}")
"""


def _synth_seconds(cwd: Path, outdir: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["npx", "--no-install", "cdk", "synth", "--quiet", "--output", str(outdir)],
        cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as scratch:
        scratch_dir = Path(scratch)
        one_bucket = scratch_dir / "one-bucket"
        one_bucket.mkdir()
        (one_bucket / "app.py").write_text(ONE_BUCKET_APP)
        (one_bucket / "cdk.json").write_text(f'{{"app": "{sys.executable} app.py"}}\n')
        # The CLI the project pins, found from the scratch folder too.
        (one_bucket / "node_modules").symlink_to(PROJECT_ROOT / "node_modules")
        project_runs, bucket_runs = [], []
        for run in range(RUNS):
            project_runs.append(_synth_seconds(PROJECT_ROOT, scratch_dir / f"project-{run}"))
            bucket_runs.append(_synth_seconds(one_bucket, scratch_dir / f"bucket-{run}"))
        phases = subprocess.run(
            [sys.executable, "-c", PHASES, str(scratch_dir / "phases")],
            cwd=PROJECT_ROOT, check=True, capture_output=True, text=True,
        ).stdout.split()
    project_s, bucket_s = statistics.median(project_runs), statistics.median(bucket_runs)
    ratio = project_s / bucket_s
    imports, runtime, first, build, synth, synth_nag = (float(value) for value in phases)
    print(f"cdk synth, three environments, cdk-nag on: {project_s:5.2f} s (runs: {', '.join(f'{s:.2f}' for s in project_runs)})")
    print(f"cdk synth, one-bucket app:                 {bucket_s:5.2f} s (runs: {', '.join(f'{s:.2f}' for s in bucket_runs)})")
    print(f"ratio: {ratio:.2f} x (target <= {TARGET_RATIO} x): {'met' if ratio <= TARGET_RATIO else 'NOT met'}")
    print("the project's synth in one process:")
    print(f"  import aws_cdk, cdk_nag and the project:  {imports:5.2f} s")
    print(f"  start the jsii runtime (Node.js):         {runtime:5.2f} s")
    print(f"  first build and synth (one-time costs):   {first:5.2f} s")
    print(f"  build the three stacks' constructs:       {build:5.2f} s")
    print(f"  synthesize them, cdk-nag off:             {synth:5.2f} s")
    print(f"  synthesize them, cdk-nag on:              {synth_nag:5.2f} s")


if __name__ == "__main__":
    main()
