"""The mutant switch inside Spark's Python workers, and what every switch of mutant must empty.

Spark runs some of the job's functions (mapInArrow's) in Python workers its JVM starts: they
neither see the mutant a mutation worker switched on nor report what the clean pass reached. Spark
forks them from one daemon and gives each task after task (its defaults, spark.python.use.daemon
and spark.python.worker.reuse), so the switch is made per task: the sitecustomize tools/mutation.py
writes into mutants/ calls `switch_each_task` in the daemon, before the daemon imports the worker's
entry point, and each task then reads the active mutant from the state folder as it starts (the
project's modules imported again under a new one) and, in the clean pass, appends there each
function it reaches.

Kept apart from tools/mutation.py so the workers import neither pytest nor the runner.
"""

from __future__ import annotations

import os
import sys

# The mutated code's packages (pyproject.toml's [tool.mutmut] source_paths).
PROJECT_PACKAGES = ("glue_etl_pipeline", "gluescripts")


def clear_project_caches() -> None:
    """Empty every functools cache of the project's modules: a value cached under one mutant (or
    the clean program) is not the next mutant's, and a fresh process would not have it."""
    for name, module in list(sys.modules.items()):
        if module is None or name.partition(".")[0] not in PROJECT_PACKAGES:
            continue
        for value in list(vars(module).values()):
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()


def forget_project_modules() -> None:
    """Drop the project's modules, so the next task imports them under the active mutant: a module
    builds some tables as it is imported (intake's acceptors, with `_integer`'s closures), and a
    fresh process would build them with the mutant's functions."""
    for name in [name for name in sys.modules if name.partition(".")[0] in PROJECT_PACKAGES]:
        del sys.modules[name]


def switch_each_task(state: str) -> None:
    """Make each task a Python worker runs follow the mutant named in `state`/mutant."""
    import mutmut.mutation.trampoline as trampoline
    import pyspark.worker as worker

    serve_task = worker.main
    # Per task, not per process: a reused worker reaches a function again for the next test, and
    # the clean pass credits that test too.
    reached_this_task: set[str] = set()

    def record(name: str, caller: object = None) -> None:  # noqa: ARG001 - mutmut passes it
        if name not in reached_this_task:
            reached_this_task.add(name)
            with open(os.path.join(state, "reached"), "a") as reached:
                reached.write(name + "\n")

    def main_under_active_mutant(infile, outfile):
        with open(os.path.join(state, "mutant")) as file:
            mutant = file.read()
        # In the clean pass, task by task: every test whose tasks import a module reaches what its
        # import calls, as it would in a fresh process.
        if mutant == "stats" or mutant != os.environ.get("MUTANT_UNDER_TEST"):
            forget_project_modules()
        os.environ["MUTANT_UNDER_TEST"] = mutant
        reached_this_task.clear()
        return serve_task(infile, outfile)

    trampoline.record_trampoline_hit = record
    worker.main = main_under_active_mutant
