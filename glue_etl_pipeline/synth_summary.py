"""Prints one line per synthesized stack and the cdk-nag outcome: `python -m glue_etl_pipeline.synth_summary cdk.out`."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ACKNOWLEDGED = "aws:cdk:acknowledged-rules"


def acknowledged_findings(assembly_dir: Path, stack_id: str) -> list[tuple[str, str, str]]:
    """(construct path, finding, reason) of every acknowledged finding recorded for the stack."""
    metadata_file = assembly_dir / f"{stack_id}.metadata.json"
    if not metadata_file.exists():
        return []
    found = []
    for path, entries in json.loads(metadata_file.read_text()).items():
        for entry in entries:
            if entry["type"] == ACKNOWLEDGED:
                found.extend((path, finding.removeprefix("Annotation::"), reason) for finding, reason in entry["data"].items())
    return found


def summarize(assembly_dir: Path) -> list[str]:
    manifest = json.loads((assembly_dir / "manifest.json").read_text())
    lines = []
    for artifact_id, artifact in manifest["artifacts"].items():
        if artifact["type"] != "aws:cloudformation:stack":
            continue
        template_file = assembly_dir / artifact["properties"]["templateFile"]
        resources = json.loads(template_file.read_text())["Resources"]
        kinds = Counter(resource["Type"].split("::")[1] for resource in resources.values())
        environment = artifact.get("environment", "").removeprefix("aws://")
        detail = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
        acknowledged = len(acknowledged_findings(assembly_dir, artifact_id))
        lines.append(
            f"{artifact_id:<24} {environment:<32} {template_file}  "
            f"({len(resources)} resources: {detail}; {acknowledged} cdk-nag findings acknowledged)"
        )
    report_file = assembly_dir / "validation-report.json"
    reports = json.loads(report_file.read_text())["pluginReports"] if report_file.exists() else []
    # The report also lists construct annotations (warnings such as alerts that reach nobody).
    nag_reports = [r for r in reports if r.get("pluginName") == "AwsSolutions"]
    unacknowledged = sum(len(v["violatingConstructs"]) for r in nag_reports for v in r.get("violations", []))
    if unacknowledged:
        lines.append(f"cdk-nag AwsSolutions: {unacknowledged} unacknowledged findings, see {report_file}")
    else:
        lines.append("cdk-nag AwsSolutions: no unacknowledged findings (acknowledgements: cdk.out/<stack>.metadata.json)")
    return lines


if __name__ == "__main__":
    print("\n".join(summarize(Path(sys.argv[1]))))
