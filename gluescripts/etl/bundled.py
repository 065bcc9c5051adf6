"""The schema and ruleset that ship inside the job's package (gluescripts/schema.json, ruleset.dqdl)."""

from __future__ import annotations

from importlib import resources

SCHEMA_FILE = "schema.json"
RULESET_FILE = "ruleset.dqdl"


def bundled_text(name: str) -> str:
    """Read a file shipped beside the package; works from a folder and from the job's zip alike."""
    return resources.files("gluescripts").joinpath(name).read_text(encoding="utf-8")
