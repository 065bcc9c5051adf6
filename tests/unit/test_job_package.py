"""The job ships every module its entrypoint imports, the schema and the ruleset (from the template)."""

from __future__ import annotations

import ast
import re
import zipfile

from tests.helpers import PROJECT_ROOT, only_resource

GLUESCRIPTS = PROJECT_ROOT / "gluescripts"


def imported_project_modules(path, seen=None) -> set[str]:
    """`gluescripts.*` modules imported by the file at `path`, followed transitively."""
    seen = set() if seen is None else seen
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            if name.startswith("gluescripts") and name not in seen:
                seen.add(name)
                module_path = PROJECT_ROOT / (name.replace(".", "/") + ".py")
                if not module_path.exists():
                    module_path = PROJECT_ROOT / name.replace(".", "/") / "__init__.py"
                imported_project_modules(module_path, seen)
    return seen


def shipped_zip(template, assembly_dir) -> zipfile.ZipFile:
    arguments = only_resource(template, "AWS::Glue::Job")["Properties"]["DefaultArguments"]
    parts = arguments["--extra-py-files"]["Fn::Join"][1]
    (asset_hash,) = re.findall(r"/([0-9a-f]{64})\.zip$", parts[-1])
    return zipfile.ZipFile(assembly_dir / f"asset.{asset_hash}.zip")


def test_entrypoint_is_the_job_script(dev_template, assembly_dir):
    location = only_resource(dev_template, "AWS::Glue::Job")["Properties"]["Command"]["ScriptLocation"]
    (asset_hash,) = re.findall(r"/([0-9a-f]{64})\.py$", location["Fn::Join"][1][-1])
    assert (assembly_dir / f"asset.{asset_hash}.py").read_bytes() == (GLUESCRIPTS / "json_to_pq.py").read_bytes()


def test_every_imported_module_and_the_rules_ship_with_the_job(dev_template, assembly_dir):
    names = set(shipped_zip(dev_template, assembly_dir).namelist())
    modules = imported_project_modules(GLUESCRIPTS / "json_to_pq.py")
    # The Glue seam is imported only when the script runs on Glue, but it must ship too.
    modules |= {"gluescripts.etl.glue_runtime"} | imported_project_modules(GLUESCRIPTS / "etl" / "glue_runtime.py")
    assert {"gluescripts.etl.job", "gluescripts.etl.pipeline", "gluescripts.etl.quality", "gluescripts.etl.dqdl"} <= modules
    # Glue Data Quality decides on Glue: the local engine is not part of the job's import graph.
    assert "gluescripts.etl.evaluate" not in modules
    for module in modules:
        as_file = module.replace(".", "/") + ".py"
        as_package = module.replace(".", "/") + "/__init__.py"
        assert as_file in names or as_package in names, f"{module} is not shipped"
    assert {"gluescripts/ruleset.dqdl", "gluescripts/schema.json", "gluescripts/__init__.py"} <= names


def test_shipped_files_are_byte_identical_to_the_sources(dev_template, assembly_dir):
    archive = shipped_zip(dev_template, assembly_dir)
    for name in archive.namelist():
        assert archive.read(name) == (PROJECT_ROOT / name).read_bytes(), name


def test_entrypoint_stays_a_screenful():
    assert len((GLUESCRIPTS / "json_to_pq.py").read_text().splitlines()) <= 40
