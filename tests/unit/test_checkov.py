"""checkov (pinned in requirements-checkov.txt, run offline) passes every template.

Each check that does not apply is skipped in the resource's metadata with a reason, as cdk-nag
findings are acknowledged; the list is pinned in tests/helpers.py so a new skip is a reviewed change.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.helpers import CHECKOV_REVIEWED_SKIPS, PROJECT_ROOT

CHECKOV = PROJECT_ROOT / ".venv-checkov" / "bin" / "checkov"



@pytest.fixture(scope="module")
def checkov_results(templates, assembly_dir) -> dict[str, dict]:
    if not CHECKOV.exists():
        pytest.fail("checkov is missing: run `make test`, which installs it into .venv-checkov")
    files = [assembly_dir / f"GlueEtlPipeline-{name}.template.json" for name in templates]
    arguments = [str(CHECKOV), "--skip-download", "--compact", "-o", "json", "--framework", "cloudformation"]
    for path in files:
        arguments += ["-f", str(path)]
    # Offline: no mapping or policy downloads (they stall without a network).
    environment = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    completed = subprocess.run(arguments, capture_output=True, text=True, env=environment, timeout=300)
    reports = json.loads(completed.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    by_file: dict[str, dict] = {}
    for report in reports:
        for outcome in ("passed_checks", "failed_checks", "skipped_checks"):
            for check in report["results"][outcome]:
                name = check["file_path"].rsplit("GlueEtlPipeline-", 1)[1].removesuffix(".template.json")
                by_file.setdefault(name, {"passed_checks": [], "failed_checks": [], "skipped_checks": []})[outcome].append(check)
    return by_file


@pytest.mark.parametrize("environment", ["DEV", "TEST", "PROD"])
def test_checkov_finds_nothing(checkov_results, environment):
    results = checkov_results[environment]
    failed = [(c["check_id"], c["resource"]) for c in results["failed_checks"]]
    assert failed == []
    assert len(results["passed_checks"]) > 50  # it really ran its CloudFormation checks


@pytest.mark.parametrize("environment", ["DEV", "TEST", "PROD"])
def test_every_skip_is_reviewed_and_gives_a_reason(checkov_results, environment):
    skipped = checkov_results[environment]["skipped_checks"]
    found = {(c["check_id"], c["resource"].split(".", 1)[1]) for c in skipped}
    expected = CHECKOV_REVIEWED_SKIPS[environment]
    assert {(check, next(r for c, r in found if c == check and r.startswith(prefix))) for check, prefix in expected} == found
    assert all(len(c["check_result"].get("suppress_comment") or "") > 40 for c in skipped)
