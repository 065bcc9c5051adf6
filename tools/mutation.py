"""`make mutation`: mutmut's mutants, each judged by the assertion tests that reach its function.

mutmut 3.8.1 writes the mutants (and `tools.mutation_report` reads its result files), but its own
runner does not fit this project in two ways:
- it credits what a session-scoped fixture calls to the first test that asked for the fixture. Every
  construct runs inside the fixture that synthesizes the stacks, so a construct's mutant would meet
  one test, not the hundreds that read the templates;
- it forks a process per mutant from one that has started the CDK's Node.js runtime (and Spark's
  JVM), so parallel mutants would share one pipe to it, and a fresh runtime per mutant costs seconds.
Here a few long-lived workers each keep one CDK runtime and one Spark session and run pytest once per
mutant, with that mutant switched on (mutmut's trampolines read the active mutant at every call).
A clean pass first records, per test, which functions it reached, including through the fixtures it
uses; a mutant then runs only those tests, fastest first, and stops at the first failure. Functions
Spark runs in its own Python workers (mapInArrow's) are switched and recorded there too.

A run of hours may be cut short (a laptop sleeps, a session ends): started again over the same
tree, it judges only the mutants still without a verdict, with the clean pass it recorded.

Usage: python -m tools.mutation [--changed-since REF] [--modules PATH ...] [--workers N]
`--changed-since` mutates only the modules that differ from REF (the incremental form).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
# What a run was started over: its modules, the tree's fingerprint and its clean pass.
RUN_FILE = MUTANTS / "run.json"
# Files no verdict depends on: what the report holds the verdicts against, and prose. Editing them
# leaves an interrupted run resumable.
NOT_JUDGING = ("tools/mutation_equivalents.toml", "tools/mutation_report.py", "README.md", "docs/")
# Verdicts are written out this often, so an interrupted run loses little and a long one can be read.
SAVE_EVERY_MUTANTS = 20
# A worker is replaced after this many mutants: every synth leaves its objects in the CDK runtime.
MUTANTS_PER_WORKER = 150
# A mutant whose tests run this many times longer than on the clean program is stopped (an
# endless loop); the floor covers a worker's first Spark query.
TIMEOUT_FACTOR = 4.0
TIMEOUT_FLOOR_SECONDS = 60.0
# Exit codes in mutmut's result files, as tools.mutation_report reads them.
TIMED_OUT = 24
WORKER_DIED = 3
NOT_REACHED = 33
RESULT_FD_ENV = "MUTATION_RESULT_FD"
# Spark's Python workers (they run mapInArrow's functions) switch to the active mutant task by task,
# through this sitecustomize in mutants/ (on their PYTHONPATH) and tools/mutation_executors.py; the
# active mutant, and in the clean pass each function reached, pass through EXECUTOR_STATE_ENV's folder.
EXECUTOR_STATE_ENV = "MUTATION_EXECUTOR_STATE"
EXECUTOR_HOOK = f"""\
# Written by tools/mutation.py: switches Spark's Python workers to the active mutant.
import os

if os.environ.get("{EXECUTOR_STATE_ENV}") and "PYTHON_WORKER_FACTORY_SECRET" in os.environ:
    from tools.mutation_executors import switch_each_task

    switch_each_task(os.environ["{EXECUTOR_STATE_ENV}"])
"""


@dataclass(frozen=True)
class Plan:
    """pyproject.toml's [tool.mutation]: the modules mutated and the pytest arguments of the tests judging them."""

    modules: tuple[str, ...]
    tests: tuple[str, ...]


def load_plan(pyproject: Path = ROOT / "pyproject.toml") -> Plan:
    section = tomllib.loads(pyproject.read_text())["tool"]["mutation"]
    return Plan(tuple(section["modules"]), tuple(section["tests"]))


def changed_modules(base: str, modules: set[str]) -> set[str]:
    changed = subprocess.run(
        ["git", "diff", "--name-only", base, "--", *sorted(modules)],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout.split()
    return modules & set(changed)


def tree_fingerprint() -> str:
    """A digest of every file of the working tree a verdict may depend on, committed or not."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.decode().split("\0")
    digest = hashlib.sha256()
    for name in sorted({name for name in listed if name and not name.startswith(NOT_JUDGING)}):
        path = ROOT / name
        if path.is_file():  # a tracked file deleted in the working tree is listed too
            digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def unjudged(modules: list[str], fingerprint: str) -> set[str] | None:
    """The mutants an interrupted run of `modules` over this same tree has yet to judge; None when
    mutants/ holds no such run."""
    if not RUN_FILE.exists():
        return None
    started = json.loads(RUN_FILE.read_text())
    if started["modules"] != modules or started["fingerprint"] != fingerprint:
        return None
    return {
        mutant
        for module in modules
        for mutant, exit_code in json.loads((MUTANTS / f"{module}.meta").read_text())["exit_code_by_key"].items()
        if exit_code is None
    }


def generate(modules: list[str]) -> None:
    """mutmut's own generation: the source copied under mutants/, each function given its mutants."""
    from mutmut.__main__ import create_mutants
    from mutmut.configuration import config
    from mutmut.mutation.trampoline import set_mutant_under_test
    from mutmut.utils.file_utils import copy_also_copy_files, copy_src_dir

    config().only_mutate = modules
    set_mutant_under_test("mutant_generation")
    # rmtree unlinks the links below; it does not follow them.
    shutil.rmtree(MUTANTS, ignore_errors=True)
    MUTANTS.mkdir()
    copy_src_dir()
    copy_also_copy_files()
    create_mutants(os.cpu_count() or 2)
    (MUTANTS / "sitecustomize.py").write_text(EXECUTOR_HOOK)
    # The rest of the project, as the tests read it (the IAM simulator's packages, the local
    # session's jars, the documents and the delivery pipeline), is linked, not copied.
    for entry in ROOT.iterdir():
        link = MUTANTS / entry.name
        if not link.exists() and not entry.name.startswith("mutants"):
            link.symlink_to(entry)


def copy_tests() -> None:
    """The tests as they stand now, replacing the copy mutmut made (a deleted or renamed test goes too)."""
    target = MUTANTS / "tests"
    if target.is_symlink():
        target.unlink()
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(ROOT / "tests", target, ignore=shutil.ignore_patterns("__pycache__"))


def mutants_of(module: str) -> list[str]:
    meta = json.loads((MUTANTS / f"{module}.meta").read_text())
    return sorted(meta["exit_code_by_key"])


def function_of(mutant: str) -> str:
    """mutmut's name of the function a mutant belongs to, as its trampolines record a call."""
    return mutant.partition("__mutmut_")[0]


def record(module: str, results: dict[str, int], durations: dict[str, float]) -> None:
    path = MUTANTS / f"{module}.meta"
    meta = json.loads(path.read_text())
    meta["exit_code_by_key"].update(results)
    meta["durations_by_key"].update(durations)
    path.write_text(json.dumps(meta, indent=2))


class Worker:
    """One pytest process that runs request after request with a chosen mutant switched on."""

    def __init__(self, log: Path):
        # The worker's temporary files (Spark's scratch, the CDK runtime's, synthesized apps') go
        # here: a worker is stopped with SIGKILL, which leaves it no chance to remove them.
        self.scratch = Path(tempfile.mkdtemp(prefix="mutation-worker-"))
        read_end, write_end = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tools.mutation", "--serve"],
            cwd=MUTANTS,
            stdin=subprocess.PIPE,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            pass_fds=(write_end,),
            env={**os.environ, RESULT_FD_ENV: str(write_end), "PYTHONPATH": f"{MUTANTS}:{ROOT}", "TMPDIR": str(self.scratch)},
            start_new_session=True,
        )
        os.close(write_end)
        self.results = os.fdopen(read_end)
        self.served = 0

    def send(self, request: dict) -> None:
        self.process.stdin.write((json.dumps(request) + "\n").encode())
        self.process.stdin.flush()
        self.served += 1

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        self.results.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


def serve() -> None:
    """The worker's side: one JSON request per line on stdin, one JSON answer per line on the result fd."""
    from mutmut.mutation.trampoline import set_mutant_under_test
    from mutmut.state import state
    from pyspark.sql import SparkSession

    from gluescripts.etl.spark import local_spark_session
    from tests.glue.conftest import LOCAL_SPARK_ENVIRONMENT
    from tools.mutation_executors import clear_project_caches

    # One Spark session for the worker's life, started before any test run: its scratch folder must
    # outlive pytest's temporary folders (pytest deletes all but the last three runs'), and the glue
    # tests' fixture, which would stop it after each run, finds it running (getOrCreate).
    executor_state = Path(tempfile.mkdtemp(prefix="mutation-executors-"))
    os.environ.update(
        LOCAL_SPARK_ENVIRONMENT, SPARK_SCRATCH_DIR=tempfile.mkdtemp(prefix="mutation-spark-"),
        **{EXECUTOR_STATE_ENV: str(executor_state)},
    )
    local_spark_session("mutation-worker")
    SparkSession.stop = lambda self: None
    answers = os.fdopen(int(os.environ[RESULT_FD_ENV]), "w")
    for line in sys.stdin:
        request = json.loads(line)
        (executor_state / "mutant").write_text(request["mutant"])
        reach = Reach(executor_state / "reached") if request["mutant"] == "stats" else None
        failures = FirstFailure()
        plugins = [failures] + ([reach] if reach else [Selection(request["tests"])])
        set_mutant_under_test(request["mutant"])
        clear_project_caches()
        # Test modules are imported afresh, so what they build at import (a parser, a schema) is
        # built by this mutant's code; pytest would otherwise reuse the last run's modules.
        for name in [name for name in sys.modules if name == "tests" or name.startswith("tests.")]:
            del sys.modules[name]
        state()._stats.clear()
        started = time.monotonic()
        # A mutant's tests are chosen by a plugin, not named on the command line: pytest cannot
        # address every parametrized id from there.
        files = request["tests"] if reach else sorted({test.partition("::")[0] for test in request["tests"]})
        arguments = ["--rootdir=.", "-q", "-p", "no:cacheprovider", "--tb=line", *files]
        if reach:
            # A template synthesized when a test first reads it would be reached by that test alone,
            # and the tests reading it after would run for none of its mutants.
            arguments.append("--build-fixtures-eagerly")
        if request.get("stop_at_first_failure", True):
            arguments.insert(1, "-x")
        exit_code = int(pytest.main(arguments, plugins=plugins))
        answer = {"exit_code": exit_code, "seconds": time.monotonic() - started, "failed": failures.test}
        if reach:
            answer.update(reached=reach.functions_by_test, durations=reach.seconds_by_test)
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


class Selection:
    """Run exactly the requested tests, in the requested order."""

    def __init__(self, tests: list[str]):
        self._order = {test: index for index, test in enumerate(tests)}

    def pytest_collection_modifyitems(self, config, items):
        chosen = sorted((item for item in items if item.nodeid in self._order), key=lambda item: self._order[item.nodeid])
        config.hook.pytest_deselected(items=[item for item in items if item.nodeid not in self._order])
        items[:] = chosen


class FirstFailure:
    """The test that detected the mutant, so the next mutants of its function try it first."""

    test: str | None = None

    def pytest_runtest_logreport(self, report):
        if report.failed and self.test is None:
            self.test = report.nodeid


class Reach:
    """Which mutated functions each test reached: in its own body, in every fixture it uses and in
    its file's import (a parser or schema a test module builds once, at collection)."""

    def __init__(self, executor_hits: Path):
        from mutmut.state import state

        self._state = state
        self._executor_hits = executor_hits
        self._by_fixture: dict[str, set[str]] = defaultdict(set)
        self._by_file: dict[str, set[str]] = defaultdict(set)
        self.functions_by_test: dict[str, list[str]] = {}
        self.seconds_by_test: dict[str, float] = defaultdict(float)

    def _hits(self) -> set[str]:
        """What was reached since the last call: in this process and in Spark's Python workers."""
        if self._executor_hits.exists():
            self._state()._stats.update(self._executor_hits.read_text().split())
            self._executor_hits.unlink()
        return self._state()._stats

    def _apart(self, into: set[str]):
        """Run the hooked step with its hits kept out of the surrounding ones, and add them to `into`."""
        outside = set(self._hits())
        self._state()._stats.clear()
        yield
        into |= self._hits()
        self._state()._stats.clear()
        self._state()._stats.update(outside)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(self, fixturedef, request):  # noqa: ARG002 - pytest passes it by name
        # A fixture's dependencies are set up before its own hook runs, so hits here are its own.
        yield from self._apart(self._by_fixture[fixturedef.argname])

    @pytest.hookimpl(hookwrapper=True)
    def pytest_make_collect_report(self, collector):
        # A test file is imported while it is collected.
        yield from self._apart(self._by_file[collector.nodeid.partition("::")[0]])

    def pytest_runtest_makereport(self, item, call):  # noqa: ARG002
        self.seconds_by_test[item.nodeid] += call.duration

    def pytest_runtest_teardown(self, item, nextitem):  # noqa: ARG002
        reached = set(self._hits()) | self._by_file.get(item.nodeid.partition("::")[0], set())
        for fixture in item.fixturenames:
            reached |= self._by_fixture.get(fixture, set())
        self.functions_by_test[item.nodeid] = sorted(reached)
        self._state()._stats.clear()


def ask(worker: Worker, request: dict) -> dict:
    """Send one request and wait for its answer."""
    worker.send(request)
    line = worker.results.readline()
    if not line:
        raise RuntimeError(f"a mutation worker died; see {MUTANTS / 'workers.log'}")
    return json.loads(line)


def clean_pass(plan: Plan, worker: Worker, log: Path) -> dict:
    """The tests on the unmutated program, recording what each reaches; and proof they run the mutants."""
    clean = ask(worker, {"mutant": "stats", "tests": list(plan.tests), "stop_at_first_failure": False})
    if clean["exit_code"] != 0:
        raise RuntimeError(f"the tests fail on the unmutated program; see {log}")
    forced = ask(worker, {"mutant": "fail", "tests": list(plan.tests)})
    if forced["exit_code"] == 0:
        raise RuntimeError("the tests pass with every mutated function raising: they do not import the mutants")
    print(f"clean run: {len(clean['reached'])} tests in {clean['seconds']:.0f} s", flush=True)
    return clean


def run(
    plan: Plan, modules: list[str], workers: int, only: set[str] | None = None,
    clean: dict | None = None, on_clean_pass: Callable[[dict], None] = lambda clean: None,
) -> None:
    """Run every mutant of `modules` (or those in `only`) and record each verdict in mutmut's result
    files; the clean pass is run, and handed to `on_clean_pass`, unless given."""
    log = MUTANTS / "workers.log"
    first = Worker(log)
    if clean is None:
        clean = clean_pass(plan, first, log)
        on_clean_pass(clean)
    tests_by_function: dict[str, list[str]] = defaultdict(list)
    for test, functions in clean["reached"].items():
        for function in functions:
            tests_by_function[function].append(test)
    duration = clean["durations"]

    results: dict[str, dict[str, int]] = {module: {} for module in modules}
    seconds: dict[str, dict[str, float]] = {module: {} for module in modules}
    detected_by: dict[str, str] = {}
    pending: list[tuple[str, str, list[str], float]] = []
    for module in modules:
        for mutant in mutants_of(module):
            if only is not None and mutant not in only:
                continue
            tests = sorted(tests_by_function.get(function_of(mutant), ()), key=lambda t: duration.get(t, 0))
            if tests:
                pending.append((module, mutant, tests, sum(duration.get(t, 0) for t in tests)))
            else:
                results[module][mutant] = NOT_REACHED
    pending.sort(key=lambda item: item[3])

    # A test that detected one mutant of a function is likely to detect the next: try it first.
    detectors: dict[str, list[str]] = defaultdict(list)

    def ordered(mutant: str, tests: list[str]) -> list[str]:
        known = [test for test in detectors[function_of(mutant)] if test in tests]
        return known + [test for test in tests if test not in known]

    def save() -> None:
        # Which test detected each mutant, to audit a detection: `mutmut show` gives the change.
        audit = MUTANTS / "detected_by.json"
        previous = json.loads(audit.read_text()) if audit.exists() else {}
        audit.write_text(json.dumps({**previous, **detected_by}, indent=1, sort_keys=True))
        for module in modules:
            record(module, results[module], seconds[module])

    pool = [first] + [Worker(log) for _ in range(workers - 1)]
    busy: dict[Worker, tuple[str, str, float, float]] = {}
    started = time.monotonic()
    done = 0
    try:
        while pending or busy:
            for worker in pool:
                if worker not in busy and pending:
                    module, mutant, tests, estimate = pending.pop(0)
                    worker.send({"mutant": mutant, "tests": ordered(mutant, tests)})
                    busy[worker] = (module, mutant, time.monotonic(), max(TIMEOUT_FLOOR_SECONDS, TIMEOUT_FACTOR * estimate))
            with selectors.DefaultSelector() as selector:
                for worker in busy:
                    selector.register(worker.results, selectors.EVENT_READ, worker)
                answered = {key.data for key, _ in selector.select(timeout=1.0)}
            for worker, (module, mutant, since, limit) in list(busy.items()):
                if worker in answered:
                    line = worker.results.readline()
                    # A worker that dies under a mutant (an exit from deep inside a test) was stopped by it.
                    answer = json.loads(line) if line else {"exit_code": WORKER_DIED, "seconds": time.monotonic() - since}
                    results[module][mutant], seconds[module][mutant] = answer["exit_code"], answer["seconds"]
                    if answer.get("failed"):
                        detected_by[mutant] = answer["failed"]
                    if answer.get("failed") and answer["failed"] not in detectors[function_of(mutant)]:
                        detectors[function_of(mutant)].insert(0, answer["failed"])
                elif time.monotonic() - since > limit:
                    results[module][mutant], seconds[module][mutant] = TIMED_OUT, limit
                else:
                    continue
                del busy[worker]
                done += 1
                if done % SAVE_EVERY_MUTANTS == 0:
                    save()
                    print(f"  {done} of {done + len(pending) + len(busy)} mutants in {time.monotonic() - started:.0f} s", flush=True)
                if results[module][mutant] in (TIMED_OUT, WORKER_DIED) or worker.served >= MUTANTS_PER_WORKER:
                    worker.stop()
                    pool[pool.index(worker)] = Worker(log)
    finally:
        for worker in pool:
            worker.stop()
        save()
        for module in modules:
            print(f"{module}: {len(results[module])} mutants, {sum(seconds[module].values()):.0f} worker-seconds")


def rerun(plan: Plan, mutants: list[str], workers: int) -> int:
    """Judge some mutants of the last run again, after tests were added: the tests are copied again."""
    if not MUTANTS.is_dir():
        print("error: no mutants/ folder; run `make mutation` first", file=sys.stderr)
        return 1
    copy_tests()
    # Verdicts from two versions of the tests are not one run's: nothing resumes from here.
    RUN_FILE.unlink(missing_ok=True)
    by_module: dict[str, list[str]] = defaultdict(list)
    for mutant in mutants:
        module = next((m for m in plan.modules if mutant.startswith(m.removesuffix(".py").replace("/", ".") + ".")), None)
        if module is None:
            print(f"error: {mutant} is not a mutant of a module in [tool.mutation]", file=sys.stderr)
            return 1
        by_module[module].append(mutant)
    run(plan, sorted(by_module), workers, only=set(mutants))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changed-since", metavar="REF", help="mutate only the modules that differ from REF")
    parser.add_argument("--modules", nargs="+", metavar="PATH", help="mutate only these modules of [tool.mutation]")
    parser.add_argument("--mutants", nargs="+", metavar="NAME", help="run these mutants of the last run again, against the current tests")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve()
        return 0
    # Stopped early (kill, or Ctrl-C), a run still records what it judged.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    plan = load_plan()
    if args.mutants:
        return rerun(plan, args.mutants, args.workers)
    modules = set(args.modules or plan.modules) & set(plan.modules)
    if args.changed_since:
        modules = changed_modules(args.changed_since, modules)
    modules = sorted(modules)
    if not modules:
        print(f"no mutated module changed since {args.changed_since}")
        return 0
    started = time.monotonic()
    fingerprint = tree_fingerprint()
    remaining = unjudged(modules, fingerprint)
    if remaining is None:
        generate(modules)

        def resumable(clean: dict) -> None:
            # Written once the clean pass is done: a run cut short before that starts afresh.
            RUN_FILE.write_text(json.dumps({"modules": modules, "fingerprint": fingerprint, "clean": clean}))

        run(plan, modules, args.workers, on_clean_pass=resumable)
    elif remaining:
        print(f"resuming the run started over this tree: {len(remaining)} mutants left", flush=True)
        run(plan, modules, args.workers, only=remaining, clean=json.loads(RUN_FILE.read_text())["clean"])
    print(f"mutation run: {len(modules)} modules in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
