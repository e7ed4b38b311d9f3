"""False failures and tolerance margins of the hidden graders, measured in-process over many seeds.

    .venv/bin/python benchmarks/false_failures.py [--seeds 1000] [--no-bugs] [--no-exercises]

Runs the graders themselves (autograder/assignments/nb74_matrix_backprop/graders/test_*.py, through pytest.main as the judge does,
with `--grader-seed K` for each benchmark seed: the same input generators, the same expected
values, the same checks) with a LocalSession — the student runner's request handler called in
this process, no sandbox — in place of the student process, over N seeds, one pytest run per
implementation:

1. the reference (the solution notebook) and every equivalent correct form of tests/bugs/catalog.py:
   every failure is a false failure (must be 0); prints the worst error / tolerance ratio, per
   tolerance (FD_TOL: central differences of the reference forward; EXACT_TOL: the reference's own
   forward or analytic gradient, and the repeat checks);
2. every realistic bug of the catalog on its own part: on each seed it must be detected; prints, per
   bug, the smallest (over seeds) of its largest error / tolerance ratio — how far above the
   tolerance the bug stays (bugs caught only by a property check, e.g. dout modified in place,
   show a ratio ≤ 1 and "property");
3. exercises: random correct setups (activation, N, seeds) re-checked with the reference classes
   as the judge does (false failures must be 0).

Only trusted code runs here (the reference and the catalog), so executing it in-process is fine.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import multiprocessing
import os
import re
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from autograder.assignments.nb74_matrix_backprop.public.agreement import agree_findings  # noqa: E402
from autograder.assignments.nb74_matrix_backprop.public.findings import UNKNOWN  # noqa: E402
from autograder.graders import numerics  # noqa: E402
from autograder.graders.cache import ExpectedCache  # noqa: E402
from autograder.graders.seeds import BENCHMARK_BASE as SEED_BASE  # noqa: E402
from autograder.graders.session import GradingSession  # noqa: E402
from autograder.judge.grade import UNUSED_PYTEST_PLUGINS, collect_cells  # noqa: E402
from autograder.sandbox.errors import StudentError  # noqa: E402
from autograder.sandbox.inside import runner  # noqa: E402
from autograder.sandbox.part_session import PartSession  # noqa: E402
from tests.bugs.catalog import BUGS, DIAGNOSES, FORMS, Entry  # noqa: E402
from tests.nb74 import NB74  # noqa: E402
from tests.submissions import SOLUTION  # noqa: E402

BACKWARD_PARTS = ["linear", "sigmoid", "relu", "tanh", "mse", "softmax_ce", "mlp"]
# The judge draws each submission's inputs under a key from the course secret; here one fixed key
# (the benchmark seeds vary the inputs instead).
BENCHMARK_KEY = b"nb74 false-failure benchmark"


# --- a student session served in this process ------------------------------------------------------
def _over_the_wire(value: Any) -> Any:
    """What the channel delivers: lists for tuples, string keys, fresh copies of arrays."""
    if isinstance(value, np.ndarray):
        return np.array(value)
    if isinstance(value, (list, tuple)):
        return [_over_the_wire(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _over_the_wire(v) for k, v in value.items()}
    return value


class LocalServer(runner.PartServer):
    """The runner's PartServer, its replies queued in this process instead of sent."""

    def __init__(self, ns: dict, cells: dict[str, str]):
        super().__init__(None, ns, cells)
        self.outbox: list[dict] = []

    def send(self, reply: dict) -> None:
        self.outbox.append(_over_the_wire(reply))


class LocalSession(PartSession):
    """A PartSession whose requests are handled by the runner's PartServer in this process."""

    def __init__(self, ns: dict, cells: dict[str, str]):
        self.server = LocalServer(ns, cells)
        self.dead, self.timed_out = None, False

    def _send(self, req: dict, what: str) -> None:
        self.server.dispatch(_over_the_wire(req))

    def _receive(self, what: str, timeout: float) -> dict:
        return self.server.outbox.pop(0)

    def close(self) -> None:
        pass


class LocalStudent:
    """A submission's cells executed in a namespace of this process (the judge's cell selection)."""

    def __init__(self, replace: dict[str, str] | None = None, base: Path = SOLUTION):
        nb = json.loads(base.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if replace and gid in replace:
                cell["source"] = replace[gid]
        cells, problems = collect_cells(nb, NB74)
        assert not problems, problems
        self.ns: dict = {"__name__": "__main__", "__builtins__": __builtins__}
        self.cells: dict[str, str] = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, source, run in cells:
                self.cells[name] = source
                if run:
                    try:
                        runner.run_cell(name, source, self.ns)
                    except Exception:
                        pass

    def session(self) -> LocalSession:
        return LocalSession(self.ns, self.cells)


# --- running the graders through pytest ----------------------------------------------------------
GRADERS = NB74.graders_dir  # the assignment's graders; the pytest settings are the engine's
PYTEST_INI = ROOT / "autograder" / "graders" / "pytest.ini"
# every expected value of every seed kept: implementations are graded one after the other
CACHE = ExpectedCache(size=10**7, cases=10**7)
SEED_ID = re.compile(r"-?seed\d+-?")


class LocalProc:
    """The student process as the graders' conftest sees it, served in this process."""

    level = "local"

    def __init__(self, student: LocalStudent):
        self.student = student

    def part_session(self) -> LocalSession:
        return self.student.session()


class LocalPlugin:
    """What the graders' conftest wants from the judge's plugin (see its docstring), for a
    LocalStudent; collects each test's outcome and the comparisons it measured."""

    is_nb74_judge = True
    assignment = NB74

    def __init__(self, student: LocalStudent, passed: set[str]):
        self.proc, self.passed = LocalProc(student), passed
        self.grading_session = GradingSession(BENCHMARK_KEY, CACHE)
        # part, test, seed, passed, message, recorded comparisons, diagnosis findings
        self.results: list[tuple[str, str, int | None, bool, str, list, tuple]] = []
        self.recorded: list = []

    def ensure_loaded(self) -> None:
        pass

    def pytest_configure(self, config: Any) -> None:
        config.option.tbstyle = "no"  # failures are read from excinfo here; formatting them costs ms each

    def parts_with_full_points(self) -> set[str]:
        return self.passed

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: Any):
        with self.grading_session.recording() as rec, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.recorded = rec
            return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: Any, call: Any):
        report = yield
        if report.when == "call" or (report.when == "setup" and report.failed):
            exc = call.excinfo.value if call.excinfo else None
            message = str(exc) if isinstance(exc, (AssertionError, StudentError)) else repr(exc) if exc else ""
            params = getattr(item, "callspec", None)
            seed = params.params.get("grader_seed") if params else None
            name = SEED_ID.sub("", item.name).replace("[]", "")
            part = Path(str(item.path)).stem.removeprefix("test_")
            recorded = list(self.recorded) if report.when == "call" else []
            findings = tuple(getattr(exc, "findings", ()))
            self.results.append((part, name, seed, report.passed, message, recorded, findings))
        return report


def run_graders(student: LocalStudent, parts: list[str], seeds: list[int] | None, passed: set[str]) -> LocalPlugin:
    """pytest over the parts' grader modules, the judge's way, with --grader-seed for each seed."""
    plugin = LocalPlugin(student, passed)
    args = ["-c", str(PYTEST_INI), "--rootdir", str(GRADERS), "--assert=plain"]
    args += [a for name in UNUSED_PYTEST_PLUGINS for a in ("-p", f"no:{name}")]  # as the judge runs them
    args += [a for k in seeds or () for a in ("--grader-seed", str(k))]
    with contextlib.redirect_stdout(io.StringIO()) as out:
        code = pytest.main(args + [str(GRADERS / f"test_{p}.py") for p in parts], plugins=[plugin])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) or not plugin.results:
        raise RuntimeError(f"the graders did not run (pytest exit {code!r}): {out.getvalue()[-2000:]}")
    return plugin


def run_part(student: LocalStudent, part: str, k: int, passed: set[str]) -> list[tuple[str, bool, str, list]]:
    """Every test of one part on benchmark seed k: (test id, passed, message, recorded comparisons)."""
    return [(name, ok, msg, rec) for _, name, _, ok, msg, rec, _ in run_graders(student, [part], [k], passed).results]


TOLERANCES = ("FD_TOL", "EXACT_TOL", "ANALYTIC_TOL")


def tol_kind(tol: float) -> str:
    return next((kind for kind in TOLERANCES if tol == getattr(numerics, kind)), f"tol={tol:g}")


class Correct:
    """Worst error / tolerance of one correct implementation over the seeds, per (tolerance, part)."""

    def __init__(self, name: str, student: LocalStudent, parts: list[str]):
        self.name, self.student, self.parts, self.failures = name, student, parts, []
        self.diagnosed: list[str] = []  # a diagnosis of correct code: must never happen

    def run(self, seeds: list[int], stats: dict) -> None:
        everything = set(NB74.rubric.parts)
        for part, case_id, k, ok, msg, rec, findings in run_graders(
            self.student, self.parts, seeds, everything
        ).results:
            if not ok:
                self.failures.append(f"{self.name} {part} {case_id} seed {k}: {msg}")
            self.diagnosed += [f"{self.name} {part} {case_id} seed {k}: {f.code}" for f in findings]
            for what, err, tol in rec:
                key = (tol_kind(tol), part)
                if err / tol > stats[key][0]:
                    stats[key] = (err / tol, err, f"{self.name}: {what} (seed {k})")


class Bug:
    """One bug on its own part: seeds where it went undetected; per tolerance, the smallest over seeds
    of the largest error of a comparison (how clearly the values give it away)."""

    def __init__(self, entry: Entry):
        self.entry, self.student = entry, LocalStudent({entry.cell: entry.source})
        self.missed = 0
        self.smallest: dict[str, float] = {}
        self.caught_by: set[str] = set()
        self.want = DIAGNOSES.get(entry.name)  # the diagnosis the catalog names (code, factor name)
        # per seed: the families the part's agreed diagnosis names (autograder.assignments.nb74_matrix_backprop.public.agreement.agree_findings,
        # as the judge), and whether a scale error's factor name is the catalog's
        self.named: dict[int, tuple[list[str], bool]] = {}

    def run(self, seeds: list[int]) -> None:
        passed = set(NB74.rubric.parts) - {self.entry.part}
        per_seed: dict[int | None, list] = defaultdict(list)
        found: dict[int | None, list] = defaultdict(list)
        for _, _, k, ok, _, rec, findings in run_graders(self.student, [self.entry.part], seeds, passed).results:
            per_seed[k].append((ok, rec))
            found[k] += findings
        for k, results in per_seed.items():
            code, factor = self.want if isinstance(self.want, tuple) else (self.want, None)
            agreed = agree_findings(found[k])
            families = sorted({f.code for f in agreed if f.code != UNKNOWN})
            self.named[int(k or 0)] = (families, any(f.code == code and f.factor_name == factor for f in agreed))
            self.missed += all(ok for ok, _ in results)
            largest: dict[str, float] = {}
            for _ok, rec in results:
                for _, err, tol in rec:
                    kind = tol_kind(tol)
                    largest[kind] = max(largest.get(kind, 0.0), err)
                    if err > tol:
                        self.caught_by.add(kind)
            for kind in TOLERANCES:
                self.smallest[kind] = min(self.smallest.get(kind, np.inf), largest.get(kind, 0.0))


def notebook_check(student: LocalStudent, part: str) -> bool:
    """The notebook's own numerical_gradient_check (given code) on the setup of the exercise cell."""
    ns = dict(student.ns)
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runner.run_cell(part, student.cells[part], ns)
    return bool(ns[f"passed_{part[-3]}{part[-1]}"])


def exercise_setups(k: int) -> dict[str, str]:
    """A random correct exercise cell pair for seed k (activation, N, data scale vary)."""
    rng = np.random.default_rng([SEED_BASE, k])
    act = ["relu", "sigmoid", "tanh"][k % 3]
    n1, n2 = int(rng.integers(2, 12)), int(rng.integers(2, 12))
    onehot = bool(k % 2)
    t81 = f"np.eye(3)[np.random.randint(0, 3, size={n1})]" if onehot else f"np.random.randint(0, 3, size={n1})"
    return {
        "exercise_8_1": (
            f"np.random.seed({SEED_BASE + k})\nmodel_81 = MLP([2, 4, 3], activation='{act}')\n"
            f"loss_81 = SoftmaxCrossEntropy()\nX_81 = np.random.randn({n1}, 2)\nt_81 = {t81}\n"
            "passed_81 = numerical_gradient_check(model_81, loss_81, X_81, t_81)\n"
        ),
        "exercise_8_2": (
            f"np.random.seed({SEED_BASE + k})\nmodel_82 = MLP([3, 8, 8, 4, 1], activation='{act}')\n"
            f"loss_82 = MSELoss()\nX_82 = np.random.randn({n2}, 3)\nt_82 = np.random.randn({n2}, 1)\n"
            "passed_82 = numerical_gradient_check(model_82, loss_82, X_82, t_82)\n"
        ),
    }


def measure(seeds: list[int], forms: bool, bugs: bool, exercises: bool) -> dict:
    """Everything measured on the given seeds, as plain data (one worker's share)."""
    correct = [Correct("reference", LocalStudent(), BACKWARD_PARTS)]
    if forms:
        for e in FORMS:
            if e.part in BACKWARD_PARTS:
                parts = [e.part, "mlp"] if e.part in ("linear", "sigmoid", "relu", "tanh") else [e.part]
                correct.append(Correct(e.name, LocalStudent({e.cell: e.source}), parts))
    bug_runs = [Bug(e) for e in BUGS if e.part in BACKWARD_PARTS] if bugs else []
    stats: dict = defaultdict(lambda: (0.0, 0.0, ""))
    ex_failures: list[str] = []
    ex_counts = {"setups": 0, "notebook check fails": 0}
    start = time.perf_counter()
    for i, c in enumerate(correct):  # one pytest run per implementation, over all the seeds
        c.run(seeds, stats)
        if i and i % 10 == 0:
            print(
                f"  ... {i}/{len(correct)} correct forms in this worker, {time.perf_counter() - start:.0f} s",
                file=sys.stderr,
            )
    for b in bug_runs:
        b.run(seeds)
    if exercises:
        for k in seeds:
            student = LocalStudent(exercise_setups(k))
            notebook = {part: notebook_check(student, part) for part in ("exercise_8_1", "exercise_8_2")}
            ex_counts["setups"] += len(notebook)
            ex_counts["notebook check fails"] += sum(not ok for ok in notebook.values())
            for part, case_id, _, ok, msg, _, _ in run_graders(student, list(notebook), None, set()).results:
                if case_id == "test_gradient_check_passes" and ok != notebook[part]:
                    # the judge's re-run must agree with the notebook's own check on the same setup
                    ex_failures.append(f"{part} {case_id} setup {k}: judge {ok}, notebook {notebook[part]}: {msg}")
                elif case_id != "test_gradient_check_passes" and not ok:
                    ex_failures.append(f"{part} {case_id} setup {k}: {msg}")
    return {
        "names": [c.name for c in correct],
        "false": [f for c in correct for f in c.failures],
        "diagnosed": [d for c in correct for d in c.diagnosed],
        "stats": dict(stats),
        "ex": ex_failures,
        "ex_counts": ex_counts,
        "bugs": [(b.entry.name, b.missed, b.smallest, sorted(b.caught_by)) for b in bug_runs],
        "diagnosis": [(b.entry.name, b.named) for b in bug_runs],
    }


def merge(parts: list[dict]) -> dict:
    out = {
        "names": parts[0]["names"],
        "false": [],
        "diagnosed": [],
        "diagnosis": {},
        "stats": {},
        "ex": [],
        "bugs": {},
        "ex_counts": {"setups": 0, "notebook check fails": 0},
    }
    for r in parts:
        out["false"] += r["false"]
        out["diagnosed"] += r["diagnosed"]
        for name, named in r["diagnosis"]:
            out["diagnosis"].setdefault(name, {}).update(named)
        out["ex"] += r["ex"]
        for key, n in r["ex_counts"].items():
            out["ex_counts"][key] += n
        for key, value in r["stats"].items():
            if value[0] >= out["stats"].get(key, (-1,))[0]:
                out["stats"][key] = value
        for name, missed, smallest, caught in r["bugs"]:
            m0, s0, c0 = out["bugs"].get(name, (0, {}, set()))
            out["bugs"][name] = (
                m0 + missed,
                {k: min(v, s0.get(k, np.inf)) for k, v in smallest.items()},
                c0 | set(caught),
            )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--no-bugs", action="store_true", help="skip the bug margins")
    parser.add_argument("--no-forms", action="store_true", help="only the reference, not the equivalent forms")
    parser.add_argument("--no-exercises", action="store_true")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    flags = (not args.no_forms, not args.no_bugs, not args.no_exercises)
    shares = [list(range(args.seeds))[w :: args.workers] for w in range(max(1, args.workers))]
    shares = [s for s in shares if s]
    if len(shares) > 1:
        with multiprocessing.get_context("fork").Pool(len(shares)) as pool:  # trusted code only
            r = merge(pool.starmap(measure, [(s, *flags) for s in shares]))
    else:
        r = merge([measure(shares[0], *flags)])

    n_forms = len(r["names"]) - 1
    print(f"seeds: {args.seeds}; correct implementations: reference + {n_forms} equivalent forms")
    for f in r["false"][:10] + r["ex"][:10]:
        print(f"  FALSE FAILURE {f}")
    print(f"false failures (backward parts and mlp): {len(r['false'])}")
    if not args.no_exercises:
        c = r["ex_counts"]
        print(
            f"false failures (exercises, {c['setups']} random correct setups; the notebook's own check fails "
            f"on {c['notebook check fails']} of them, ReLU kinks, and the judge must agree): {len(r['ex'])}"
        )
    print("worst error of correct code, per tolerance and part (ratio = error / tolerance):")
    overall: dict[str, tuple] = {}
    for (kind, part), (ratio, err, where) in sorted(r["stats"].items()):
        print(f"  {kind:9s} {part:11s} error {err:.2e}  ratio {ratio:.2e}  {where}")
        if ratio >= overall.get(kind, (-1,))[0]:
            overall[kind] = (ratio, err, part)
    for kind, (ratio, err, part) in sorted(overall.items()):
        print(f"WORST correct {kind}: error {err:.2e} ({part}) = {ratio:.2e} × {kind} ({getattr(numerics, kind):.0e})")
    print(f"worst error-to-tolerance ratio of correct code: {max((v[0] for v in overall.values()), default=0):.2e}")

    missed_any, diagnosis_failed = 0, False
    if r["bugs"]:
        print(
            "realistic bugs on their own part: seeds undetected; smallest over seeds of the largest error per tolerance"
        )
        smallest: dict[str, tuple[float, str]] = {}
        for name, (missed, small, caught) in r["bugs"].items():
            fd, ex, an = (small.get(k, 0.0) for k in TOLERANCES)
            part = next(e.part for e in BUGS if e.name == name)
            print(
                f"  {name:28s} {part:11s} undetected {missed:4d}  FD {fd:9.2e}  EXACT {ex:9.2e}  ANALYTIC {an:9.2e}  "
                f"caught by {','.join(sorted(caught)) or 'shape/property'}"
            )
            missed_any += missed > 0
            for kind, v in zip(TOLERANCES, (fd, ex, an)):
                if kind in caught and 0 < v < smallest.get(kind, (np.inf, ""))[0]:
                    smallest[kind] = (v, name)
        for kind, (v, name) in sorted(smallest.items()):
            print(f"SMALLEST bug error caught by {kind}: {v:.2e} ({name}) = {v / getattr(numerics, kind):.2e} × {kind}")
        print(f"bugs undetected on some seed: {missed_any}")
        worst, wrong = print_diagnosis(r["diagnosis"])
        diagnosis_failed = worst < COVERAGE_GOAL or wrong > 0
    for d in r["diagnosed"][:10]:
        print(f"  DIAGNOSIS OF CORRECT CODE {d}")
    print(f"diagnoses of correct code (the reference and every form, every seed): {len(r['diagnosed'])}")
    print(f"time {time.perf_counter() - start:.1f} s")
    return 1 if r["false"] or r["ex"] or missed_any or r["diagnosed"] or diagnosis_failed else 0


COVERAGE_GOAL = 0.95  # share of wrong submissions whose diagnosis is the catalog's family


def print_diagnosis(diagnosis: dict[str, dict[int, tuple[list[str], bool]]]) -> tuple[float, int]:
    """Per bug and seed, the families the part's agreed diagnosis names (as the judge reports them):
    covered when it is exactly the catalog's family; wrong when it names any other family; "not sure"
    (`unknown`, no family) is neither. A bug the catalog names no family for (None) is never covered.
    Returns the smallest coverage over the seeds and the number of wrong families."""
    print("diagnosis of each bug (seeds with the catalog's family / with another family / graded):")
    per_seed: dict[int, list[bool]] = defaultdict(list)
    wrong_total = scale_total = scale_right = 0
    for name, named in diagnosis.items():
        want = DIAGNOSES.get(name)
        code = want[0] if isinstance(want, tuple) else want
        right = [k for k, (fam, _) in named.items() if fam == [code]]
        wrong = {k: fam for k, (fam, _) in named.items() if set(fam) - {code}}
        for k in named:
            per_seed[k].append(k in right)
        wrong_total += len(wrong)
        line = f"  {name:30s} want {str(want):22s} family {len(right):5d}  wrong {len(wrong):4d}  of {len(named)}"
        if isinstance(want, tuple):
            factor = sum(ok for _, ok in named.values())
            scale_total, scale_right = scale_total + len(named), scale_right + factor
            line += f", factor {factor}/{len(named)}"
        print(line)
        for k, fam in list(wrong.items())[:3]:
            print(f"    WRONG FAMILY seed {k}: {fam}")
    total = sum(len(v) for v in per_seed.values())
    covered = sum(sum(v) for v in per_seed.values())
    worst = min((sum(v) / len(v) for v in per_seed.values()), default=1.0)
    print(f"DIAGNOSIS COVERAGE: {covered}/{total} = {covered / max(total, 1):.1%} (lowest seed {worst:.1%})")
    print(f"WRONG FAMILIES: {wrong_total}")
    print(
        f"SCALE BUGS WITH THE RIGHT FACTOR NAME: {scale_right}/{scale_total} = {scale_right / max(scale_total, 1):.1%}"
    )
    return worst, wrong_total


if __name__ == "__main__":
    sys.exit(main())
