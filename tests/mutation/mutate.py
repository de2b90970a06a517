"""Mutation testing of the core (``make mutate``); see README.md beside this file.

Runs with the Python of cosmic-ray's own venv (.cache/tools/cosmic-ray): for each module of
modules.toml it creates a cosmic-ray session, marks the mutants that cannot change
behaviour as skipped (those inside type annotations, and those listed in equivalent.toml),
checks that the module's test selection is green on the unmutated code, runs every other
mutant, and writes results/<module>.md (counts, score, the surviving mutants' diffs) and
results/summary.md. cosmic-ray mutates the files in place; they are copied aside first and
put back at the end, even after an interrupted run (see ``restore_leftovers``).
"""

from __future__ import annotations

import argparse
import ast
import random
import difflib
import fcntl
import hashlib
import json
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import cosmic_ray.plugins
from cosmic_ray.mutating import mutate_code
from cosmic_ray.work_db import WorkDB, use_db
from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
# One work directory per checkout: .cache may be shared by several checkouts of the repository
# (a symlink), and their runs must neither wait on one lock nor restore each other's files.
WORK = ROOT / ".cache" / "mutation" / hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
BACKUP = WORK / "backup"
RESULTS = HERE / "results"
COSMIC_RAY = Path(sys.executable).with_name("cosmic-ray")


@dataclass
class Module:
    name: str
    paths: list[Path]
    tests: list[str]
    timeout: float


@dataclass
class Tally:
    killed: int = 0
    timeout: int = 0
    survived: int = 0
    incompetent: int = 0
    excluded: dict[str, int] = field(default_factory=dict)
    survivors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def judged(self) -> int:
        return self.killed + self.timeout + self.survived

    @property
    def score(self) -> float:
        return 100.0 * (self.killed + self.timeout) / self.judged if self.judged else 100.0


def load_modules(wanted: list[str]) -> list[Module]:
    table = tomllib.loads((HERE / "modules.toml").read_text())
    flat = {}
    for name, spec in table.items():
        if "paths" in spec:
            flat[name] = spec
        else:  # a group: [dialects.sqlite] is table["dialects"]["sqlite"]
            flat.update({f"{name}.{sub}": s for sub, s in spec.items()})
    chosen = [n for n in flat if not wanted or any(n == w or n.startswith(w + ".") for w in wanted)]
    unknown = [w for w in wanted if not any(n == w or n.startswith(w + ".") for n in flat)]
    if unknown:
        sys.exit(f"mutate: unknown module(s) {', '.join(unknown)} (known: {', '.join(flat)})")
    return [Module(n, [p for g in flat[n]["paths"] for p in sorted(ROOT.glob(g))], flat[n]["tests"],
                   float(flat[n].get("timeout", 60))) for n in chosen]


def load_equivalents() -> list[dict]:
    return tomllib.loads((HERE / "equivalent.toml").read_text()).get("mutant", [])


# -- in-place safety --------------------------------------------------------------------------

def back_up(paths: list[Path]) -> None:
    for path in paths:
        copy = BACKUP / path.relative_to(ROOT)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, copy)


def restore_leftovers() -> None:
    """Put back every file a previous run left mutated (a run killed mid-mutant)."""
    if not BACKUP.exists():
        return
    for copy in sorted(p for p in BACKUP.rglob("*") if p.is_file()):
        original = ROOT / copy.relative_to(BACKUP)
        if original.read_bytes() != copy.read_bytes():
            print(f"mutate: restoring {original.relative_to(ROOT)} (left mutated by an interrupted run)")
            shutil.copy2(copy, original)
    shutil.rmtree(BACKUP)


# -- sessions ---------------------------------------------------------------------------------

def test_command(module: Module, python: str) -> list[str]:
    # CI=true: a database the selection needs and cannot reach fails the baseline, never skips;
    # MIGRATOR_TEST_IN_PROCESS=1: the `cli` fixture calls the CLI's main() in the test process
    # (no interpreter start per call: five times faster, see tests/conftest.py)
    return ["env", "CI=true", "MIGRATOR_TEST_IN_PROCESS=1", python, "-m", "pytest", "-x", "-q", "-p",
            "no:cacheprovider", *module.tests]


def write_config(module: Module, python: str) -> Path:
    config = WORK / f"{module.name}.toml"
    paths = ", ".join(json.dumps(str(p.relative_to(ROOT))) for p in module.paths)
    config.write_text(
        "[cosmic-ray]\n"
        f"module-path = [{paths}]\n"
        f"timeout = {module.timeout}\n"
        "excluded-modules = []\n"
        f"test-command = {json.dumps(shlex.join(test_command(module, python)))}\n"
        "[cosmic-ray.distributor]\nname = \"local\"\n"
    )
    return config


def annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where the type annotations are: with ``from __future__ import annotations`` they are
    never evaluated, so no mutant inside one can change behaviour."""
    spans = []
    for node in ast.walk(ast.parse(source)):
        notes = []
        if isinstance(node, ast.arg | ast.AnnAssign):
            notes.append(node.annotation)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            notes.append(node.returns)
        spans += [((n.lineno, n.col_offset), (n.end_lineno, n.end_col_offset)) for n in notes if n is not None]
    return spans


def changed_lines(original: str, mutated: str) -> tuple[str, str]:
    diff = list(difflib.ndiff(original.splitlines(), mutated.splitlines()))
    return ("\n".join(d[2:].strip() for d in diff if d.startswith("- ")),
            "\n".join(d[2:].strip() for d in diff if d.startswith("+ ")))


def unified(original: str, mutated: str, path: str) -> str:
    return "\n".join(difflib.unified_diff(original.splitlines(), mutated.splitlines(),
                                          f"a/{path}", f"b/{path}", lineterm="", n=1))


def mark_excluded(module: Module, session: Path, equivalents: list[dict], sample: int | None = None,
                  seed: int = 0) -> dict[str, dict]:
    """Mark annotation and listed-equivalent mutants as skipped, and with ``sample`` every
    mutant outside a random sample of that many of the others; return every mutant's diff and
    why it was left out (if it was), by job id."""
    sources = {p: p.read_text() for p in module.paths}
    spans = {p: annotation_spans(s) for p, s in sources.items()}
    info = {}
    used = set()
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item in list(db.pending_work_items):
            (m,) = item.mutations
            path = ROOT / m.module_path if not m.module_path.is_absolute() else m.module_path
            operator = cosmic_ray.plugins.get_operator(m.operator_name)(**m.operator_args)
            mutated = mutate_code(sources[path], operator, m.occurrence)
            if mutated is None:
                continue
            rel = str(path.relative_to(ROOT))
            before, after = changed_lines(sources[path], mutated)
            why = None
            annotation = any(start <= tuple(m.start_pos) < end for start, end in spans[path])
            if annotation:
                why = "annotation (never evaluated)"
            for i, e in enumerate(equivalents):
                if e["path"] == rel and e["original"].strip() == before and after in e["mutants"]:
                    why = e.get("kind", "equivalent") + ": " + e["reason"]
                    used.add(i)
            info[item.job_id] = {"diff": unified(sources[path], mutated, rel), "why": why, "path": rel,
                                 "operator": m.operator_name, "line": m.start_pos[0], "annotation": annotation}
        if sample is not None:
            # drawn before the equivalents are left out, so that the same seed draws the same
            # sample from the same sources however equivalent.toml changes (job ids are random:
            # the mutants are sorted by what they are)
            pool = sorted((j for j, i in info.items() if not i["annotation"]),
                          key=lambda j: (info[j]["path"], info[j]["line"], info[j]["operator"], info[j]["diff"]))
            chosen = set(random.Random(seed).sample(pool, min(sample, len(pool))))
            for j in pool:
                if j not in chosen:
                    info[j]["why"] = "not sampled"
        for job_id, i in info.items():
            if i["why"]:
                db.set_result(job_id, WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output=i["why"]))
    stale = [e for i, e in enumerate(equivalents) if i not in used and e["path"] in
             {str(p.relative_to(ROOT)) for p in module.paths}]
    for e in stale:
        print(f"mutate: equivalent.toml entry matches no mutant any more ({e['path']}: {e['original']!r})")
    return info


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, text=True, capture_output=True, **kw)


def baseline(module: Module, python: str) -> None:
    r = run(test_command(module, python))
    if r.returncode != 0:
        tail = "\n".join((r.stdout + r.stderr).splitlines()[-30:])
        sys.exit(f"mutate: the test selection of {module.name} is red on the unmutated code:\n{tail}")


def tally(session: Path, info: dict[str, dict]) -> Tally:
    t = Tally()
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item, result in db.completed_work_items:
            if result.worker_outcome == WorkerOutcome.SKIPPED:
                kind = result.output.split(":")[0]
                t.excluded[kind] = t.excluded.get(kind, 0) + 1
            elif result.worker_outcome == WorkerOutcome.NO_TEST:
                continue
            elif result.test_outcome == TestOutcome.INCOMPETENT:
                t.incompetent += 1
            elif result.test_outcome == TestOutcome.SURVIVED:
                t.survived += 1
                i = info.get(item.job_id, {})
                t.survivors.append(f"{i.get('path')}:{i.get('line')} {i.get('operator')}\n{result.diff or i.get('diff')}")
            elif result.output == "timeout":
                t.timeout += 1
            else:
                t.killed += 1
    return t


def mutate(module: Module, python: str, equivalents: list[dict], sample: int | None = None,
           seed: int = 0) -> Tally:
    started = time.monotonic()
    config, session = write_config(module, python), WORK / f"{module.name}.sqlite"
    session.unlink(missing_ok=True)
    r = run([str(COSMIC_RAY), "init", str(config), str(session)])
    if r.returncode != 0:
        sys.exit(f"mutate: cosmic-ray init failed for {module.name}:\n{r.stderr}")
    info = mark_excluded(module, session, equivalents, sample, seed)
    baseline(module, python)
    back_up(module.paths)
    try:
        r = run([str(COSMIC_RAY), "exec", str(config), str(session)])
    finally:
        restore_leftovers()
    if r.returncode != 0:
        sys.exit(f"mutate: cosmic-ray exec failed or was interrupted for {module.name} (files restored; "
                 f"partial results in {session.relative_to(ROOT)}):\n{r.stderr[-3000:]}")
    t = tally(session, info)
    t.seconds = time.monotonic() - started
    return t


# -- report -----------------------------------------------------------------------------------

def line(name: str, t: Tally) -> str:
    excluded = sum(t.excluded.values())
    return (f"{name:18} {t.score:5.1f}%  killed {t.killed}, timeout {t.timeout}, survived {t.survived}, "
            f"incompetent {t.incompetent}, excluded {excluded}  ({t.seconds:.0f} s)")


def write_report(module: Module, t: Tally) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{module.name}.md"
    excluded = ", ".join(f"{k} {v}" for k, v in sorted(t.excluded.items())) or "none"
    text = [f"# Mutation testing: {module.name}", "",
            f"- files: {', '.join(str(p.relative_to(ROOT)) for p in module.paths)}",
            f"- tests: pytest -x {shlex.join(module.tests)}",
            f"- score: {t.score:.1f}% ({t.killed + t.timeout} of {t.judged} killed)",
            f"- killed {t.killed}, timeout {t.timeout} (counted as killed), survived {t.survived}, "
            f"incompetent {t.incompetent} (not counted)",
            f"- excluded: {excluded}",
            f"- wall time: {t.seconds:.0f} s", "", f"## Surviving mutants ({t.survived})", ""]
    text += [f"```diff\n{s}\n```\n" for s in t.survivors]
    out.write_text("\n".join(text))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="module names of modules.toml (default: all)")
    parser.add_argument("--sample", type=int, metavar="N",
                        help="judge a random sample of N mutants per module (a quick estimate of the score)")
    parser.add_argument("--seed", type=int, default=0, help="the sample's seed (default 0)")
    parser.add_argument("--python", default=str(ROOT / ".venv" / "bin" / "python"),
                        help="the test venv's Python (with the package installed editable)")
    args = parser.parse_args()
    modules, equivalents = load_modules(args.modules), load_equivalents()
    WORK.mkdir(parents=True, exist_ok=True)
    lock = (WORK / "lock").open("w")
    try:  # two runs in one tree would restore each other's files mid-mutant
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit("mutate: another `make mutate` is running in this tree; wait for it to end")
    restore_leftovers()
    lines = []
    for module in modules:
        print(f"mutate: {module.name} ...", flush=True)
        t = mutate(module, args.python, equivalents, args.sample, args.seed)
        report = write_report(module, t)
        lines.append(line(module.name, t))
        print(lines[-1] + f"  -> {report.relative_to(ROOT)}", flush=True)
        (RESULTS / f"{module.name}.line").write_text(lines[-1] + "\n")
    every = sorted(p.read_text().rstrip() for p in RESULTS.glob("*.line"))  # this run's and earlier runs'
    (RESULTS / "summary.md").write_text("# Mutation scores\n\n```\n" + "\n".join(every) + "\n```\n")
    print("\n".join(["", "mutation scores (killed / (killed + survived); timeouts count as killed):", *lines]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
