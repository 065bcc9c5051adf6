"""Prints one line per synthesized stack: `python -m glue_etl_pipeline.synth_summary cdk.out`."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path


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
        lines.append(f"{artifact_id:<24} {environment:<32} {template_file}  ({len(resources)} resources: {detail})")
    return lines


if __name__ == "__main__":
    print("\n".join(summarize(Path(sys.argv[1]))))
