"""The mutation score per module after `mutmut run`, held against the list of equivalent mutants.

A mutant is detected when a test failed or timed out on it. Each module must detect at least
TARGET of its mutants, and every mutant no test detects must be listed in EQUIVALENTS with the
reason no test can tell it from the original. An entry for a mutant that is now detected, or no
longer exists, is reported too, so the list never outlives the code it describes.

Usage: python -m tools.mutation_report [--mutants mutants] [--equivalents tools/mutation_equivalents.toml]
Exit status: 0 when every module meets the target and every survivor is listed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

TARGET = 0.90
EQUIVALENTS = Path("tools/mutation_equivalents.toml")
# mutmut's exit codes (mutmut.stats.status_by_exit_code): a failing test, an internal error in
# pytest (still a failure the mutant caused) and the type checker kill; timeouts hang the tests.
KILLED = {1, 3, 37}
TIMED_OUT = {-24, 24, 36, 152, 255}


@dataclass
class ModuleScore:
    path: str
    detected: list[str] = field(default_factory=list)
    undetected: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.detected) + len(self.undetected)

    @property
    def score(self) -> float:
        return len(self.detected) / self.total if self.total else 1.0


def scores(mutants: Path) -> list[ModuleScore]:
    """Per mutated file, which mutants the tests detected; a mutant never run counts as undetected."""
    result = []
    for meta in sorted(mutants.rglob("*.py.meta")):
        module = ModuleScore(str(meta.relative_to(mutants)).removesuffix(".meta"))
        for name, exit_code in sorted(json.loads(meta.read_text())["exit_code_by_key"].items()):
            (module.detected if exit_code in KILLED | TIMED_OUT else module.undetected).append(name)
        result.append(module)
    return result


def report(modules: list[ModuleScore], equivalents: dict[str, str]) -> tuple[list[str], bool]:
    lines = [f"{'module':58} {'mutants':>7} {'detected':>8} {'equiv.':>6} {'unexplained':>11} {'score':>6}"]
    ok = True
    every_mutant = set()
    for module in modules:
        every_mutant.update(module.detected, module.undetected)
        unexplained = [name for name in module.undetected if name not in equivalents]
        listed = len(module.undetected) - len(unexplained)
        meets = module.score >= TARGET and not unexplained
        ok &= meets
        lines.append(
            f"{module.path:58} {module.total:7} {len(module.detected):8} {listed:6} {len(unexplained):11} "
            f"{module.score:6.1%}{'' if meets else '  <- below target or unexplained survivors'}"
        )
        lines.extend(f"    undetected, not listed as equivalent: {name}  (mutmut show {name})" for name in unexplained)
    detected = {name for module in modules for name in module.detected}
    # Only entries of the modules this run mutated can be judged (an incremental run mutates a few).
    scored = {module.path.removesuffix(".py").replace("/", ".") for module in modules}
    for name in sorted(equivalents):
        if not any(name.startswith(f"{prefix}.") for prefix in scored):
            continue
        if name in detected or name not in every_mutant:
            ok = False
            lines.append(f"    listed as equivalent but {'detected' if name in detected else 'no longer generated'}: {name}")
    lines.append(f"target: at least {TARGET:.0%} detected in each module, every undetected mutant listed with a reason")
    return lines, ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=Path, default=Path("mutants"))
    parser.add_argument("--equivalents", type=Path, default=EQUIVALENTS)
    args = parser.parse_args(argv)
    modules = scores(args.mutants)
    if not modules:
        print(f"error: no mutation results under {args.mutants}/; run `make mutation`", file=sys.stderr)
        return 1
    equivalents = tomllib.loads(args.equivalents.read_text())["equivalent"] if args.equivalents.exists() else {}
    lines, ok = report(modules, equivalents)
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
