"""`make mutation` started again over the same tree resumes; over a changed tree it starts afresh."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import types

import pytest

from tools import mutation, mutation_executors

MODULES = ["glue_etl_pipeline/config.py"]


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """A git working tree with a module, a test and the report's equivalents, and its mutants/ folder."""
    root = tmp_path / "tree"
    for name, text in {
        "glue_etl_pipeline/config.py": "LIMIT = 1\n",
        "tests/test_config.py": "def test_limit(): ...\n",
        "tools/mutation_equivalents.toml": "",
        ".gitignore": "mutants/\n",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "."], check=True)
    monkeypatch.setattr(mutation, "ROOT", root)
    monkeypatch.setattr(mutation, "MUTANTS", root / "mutants")
    monkeypatch.setattr(mutation, "RUN_FILE", root / "mutants" / "run.json")
    return root


def interrupted_run(tree, fingerprint: str, verdicts: dict) -> None:
    (tree / "mutants" / "glue_etl_pipeline").mkdir(parents=True)
    (tree / "mutants" / "glue_etl_pipeline" / "config.py.meta").write_text(json.dumps({"exit_code_by_key": verdicts}))
    (tree / "mutants" / "run.json").write_text(json.dumps({"modules": MODULES, "fingerprint": fingerprint, "clean": {}}))


def test_an_interrupted_run_over_the_same_tree_judges_only_the_mutants_left(tree):
    interrupted_run(tree, mutation.tree_fingerprint(), {"config.x_a__mutmut_1": 1, "config.x_a__mutmut_2": None, "config.x_a__mutmut_3": 0})
    assert mutation.unjudged(MODULES, mutation.tree_fingerprint()) == {"config.x_a__mutmut_2"}


def test_a_finished_run_over_the_same_tree_has_nothing_left(tree):
    interrupted_run(tree, mutation.tree_fingerprint(), {"config.x_a__mutmut_1": 1})
    assert mutation.unjudged(MODULES, mutation.tree_fingerprint()) == set()


@pytest.mark.parametrize("edited", ["glue_etl_pipeline/config.py", "tests/test_config.py", "tests/test_new.py"])
def test_a_changed_module_or_test_starts_the_run_afresh(tree, edited):
    interrupted_run(tree, mutation.tree_fingerprint(), {"config.x_a__mutmut_1": None})
    (tree / edited).write_text("LIMIT = 2\n")
    assert mutation.unjudged(MODULES, mutation.tree_fingerprint()) is None


def test_listing_an_equivalent_mutant_keeps_the_run_resumable(tree):
    """The report reads the list; no verdict depends on it."""
    interrupted_run(tree, mutation.tree_fingerprint(), {"config.x_a__mutmut_1": None})
    (tree / "tools" / "mutation_equivalents.toml").write_text('"config.x_a__mutmut_1" = "reason"\n')
    assert mutation.unjudged(MODULES, mutation.tree_fingerprint()) == {"config.x_a__mutmut_1"}


def test_a_run_of_other_modules_is_not_resumed(tree):
    interrupted_run(tree, mutation.tree_fingerprint(), {"config.x_a__mutmut_1": None})
    assert mutation.unjudged([*MODULES, "glue_etl_pipeline/workflow.py"], mutation.tree_fingerprint()) is None


def test_without_a_started_run_there_is_nothing_to_resume(tree):
    assert mutation.unjudged(MODULES, mutation.tree_fingerprint()) is None


def test_a_value_a_project_module_cached_under_one_mutant_is_gone_before_the_next(monkeypatch):
    """A worker judges mutant after mutant in one process; a fresh process would start with empty caches."""
    calls = []

    @functools.lru_cache
    def level(rule):
        calls.append(rule)
        return "ROW"

    @functools.lru_cache
    def outside(value):
        return value

    monkeypatch.setitem(sys.modules, "gluescripts.cached_for_test", types.SimpleNamespace(level=level))
    monkeypatch.setitem(sys.modules, "elsewhere_for_test", types.SimpleNamespace(outside=outside))
    level("IsComplete"), outside(1)
    mutation_executors.clear_project_caches()
    level("IsComplete")
    assert calls == ["IsComplete", "IsComplete"]
    assert outside.cache_info().currsize == 1


def test_each_task_a_reused_spark_worker_runs_follows_the_mutant_active_as_it_starts(tmp_path, monkeypatch):
    """Under a new mutant the project's modules are imported again (tables a module builds at import
    are the mutant's); in the clean pass, for every task, so each test reaches what an import calls."""
    import mutmut.mutation.trampoline as trampoline
    import pyspark.worker as worker

    seen = []
    imported = "gluescripts.imported_for_test"

    def task(infile, outfile):  # noqa: ARG001 - Spark's worker entry point takes both
        seen.append((os.environ["MUTANT_UNDER_TEST"], imported in sys.modules))
        sys.modules[imported] = types.SimpleNamespace()
        for name in ("schema.x_parse", "schema.x_parse", "intake.x_value"):
            trampoline.record_trampoline_hit(name)

    monkeypatch.setattr(worker, "main", task)
    monkeypatch.setattr(trampoline, "record_trampoline_hit", trampoline.record_trampoline_hit)
    # The switch forgets the project's modules in this process too: they come back after the test
    # (functions of a forgotten module no longer pickle by reference, as Spark ships them).
    for name, module in list(sys.modules.items()):
        if name.partition(".")[0] in mutation_executors.PROJECT_PACKAGES:
            monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setitem(sys.modules, imported, types.SimpleNamespace())
    monkeypatch.setenv("MUTANT_UNDER_TEST", "")
    mutation_executors.switch_each_task(str(tmp_path))
    for mutant in ("stats", "stats", "schema.x_parse__mutmut_3", "schema.x_parse__mutmut_3"):
        (tmp_path / "mutant").write_text(mutant)
        worker.main(None, None)
    assert seen == [("stats", False), ("stats", False), ("schema.x_parse__mutmut_3", False), ("schema.x_parse__mutmut_3", True)]
    # Each function once per task: the second test's task is credited with what the first reached too.
    assert (tmp_path / "reached").read_text().split() == ["schema.x_parse", "intake.x_value"] * 4
