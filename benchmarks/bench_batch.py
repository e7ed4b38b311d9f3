"""The batch against plain nbgrader on one class, and the batch's peak memory.

    .venv/bin/python benchmarks/bench_batch.py [--n 100] [--workers 2] [--memory-only] [--keep DIR]
    .venv/bin/python benchmarks/bench_batch.py --n 40 --compare /tmp/base [--rounds 3]

Builds a temporary course (`nbgrader generate_assignment` from the committed source) with N
submissions, student ids s0000..., cycling through a few variants: correct, and one answer cell
replaced by a typical bug. Then

  (a) `python -m autograder batch <a> --workers W --no-feedback`: wall time, peak memory;
  (b) unless --memory-only, `nbgrader autograde <a>` with nbgrader's own autograde preprocessors
      (Execute: every notebook run top to bottom in a kernel, hidden tests included), from a
      temporary nbgrader_config.py that sets only the course folders, so the repository's
      JudgeScores configuration is not loaded: wall time, and per student whether its total
      agrees with the batch's (they agree only where the in-notebook hidden tests and the judge
      agree: disagreements are listed, not asserted);
  (c) peak memory of the batch, sampled every 50 ms: the coordinator's RSS, and the sum of RSS over
      it and all its descendants (workers, sandboxes; psutil if installed, else /proc). The sum
      counts pages shared between forked processes once per process, so it overstates; the
      coordinator's VmHWM (kernel high-water mark) is exact.

Prints a compact table. The machine's load average is printed too: on a shared machine the times
move with it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.tools.build import nbgrader_env, run_nbgrader  # noqa: E402
from tests.course import batch_cmd  # noqa: E402
from tests.nb74 import NB74  # noqa: E402
from tests.submissions import answer_source, make_submission  # noqa: E402

RUBRIC = NB74.rubric
A, NB = RUBRIC.assignment, f"{RUBRIC.notebook}.ipynb"


def variants() -> list[tuple[str, dict[str, str]]]:
    """(label, answer cells replaced in the solution): correct first, then typical bugs."""
    lin, sig, mse = answer_source("linear"), answer_source("sigmoid"), answer_source("mse")
    relu, sce = answer_source("relu"), answer_source("softmax_ce")
    out = [
        ("correct", {}),
        ("linear: dW doubled", {"linear": lin.replace("x.T @ dout", "2 * x.T @ dout")}),
        ("linear: db averaged", {"linear": lin.replace("np.sum(dout, axis=0)", "np.mean(dout, axis=0)")}),
        ("sigmoid: y(1+y)", {"sigmoid": sig.replace("y * (1 - y)", "y * (1 + y)")}),
        ("relu: no mask", {"relu": relu.replace("dout * self.cache['mask']", "dout")}),
        ("mse: divided by N", {"mse": mse.replace("/ y.size", "/ y.shape[0]")}),
        ("softmax_ce: not /N", {"softmax_ce": sce.replace("return (p - t) / N", "return p - t")}),
    ]
    for label, rep in out:
        for cell, src in rep.items():
            assert src != answer_source(cell), f"variant {label!r} changed nothing"
    return out


def build_course(course: Path, n: int) -> dict[str, str]:
    """The course with n submissions; {student: variant label}."""
    shutil.copytree(ROOT / "source" / A, course / "source" / A)
    run_nbgrader(["generate_assignment", A], course)
    shutil.copy2(course / "gradebook.db", course / "gradebook.fresh.db")
    blobs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, rep) in enumerate(variants()):
            blobs.append((label, make_submission(Path(tmp) / f"{i}.ipynb", rep).read_bytes()))
    who = {}
    for i in range(n):
        label, blob = blobs[i % len(blobs)]
        student = f"s{i:04d}"
        folder = course / "submitted" / student / A
        folder.mkdir(parents=True)
        (folder / NB).write_bytes(blob)
        (folder / "timestamp.txt").write_text("2024-06-01 10:00:00.000000 UTC", encoding="utf-8")
        who[student] = label
    return who


def copy_course(src: Path, dst: Path) -> Path:
    for folder in ("source", "release", "submitted"):
        shutil.copytree(src / folder, dst / folder)
    shutil.copy2(src / "gradebook.fresh.db", dst / "gradebook.db")
    return dst


# -- memory -----------------------------------------------------------------------------------------


def _children_proc(pid: int) -> list[int]:
    kids = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return kids


def _status_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


class MemorySampler(threading.Thread):
    """Every `interval` s: RSS of the root process and the sum over its process tree."""

    def __init__(self, pid: int, interval: float = 0.05):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_root = self.peak_tree = self.hwm_root = 0  # bytes
        self.peak_procs = self.samples = 0
        self.stop_event = threading.Event()
        try:
            import psutil

            self.psutil = psutil
        except ImportError:
            self.psutil = None

    def sample(self) -> None:
        if self.psutil is not None:
            try:
                root = self.psutil.Process(self.pid)
                procs = [root, *root.children(recursive=True)]
            except self.psutil.Error:
                return
            rss = []
            for p in procs:
                try:
                    rss.append(p.memory_info().rss)
                except self.psutil.Error:
                    rss.append(0)
        else:
            procs, todo = [], [self.pid]
            while todo:
                pid = todo.pop()
                procs.append(pid)
                todo += _children_proc(pid)
            rss = [_status_kb(p, "VmRSS") * 1024 for p in procs]
        if not rss:
            return
        self.samples += 1
        self.peak_root = max(self.peak_root, rss[0])
        self.hwm_root = max(self.hwm_root, _status_kb(self.pid, "VmHWM") * 1024)
        if sum(rss) > self.peak_tree:
            self.peak_tree, self.peak_procs = sum(rss), len(rss)

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.sample()
            self.stop_event.wait(self.interval)

    def stop(self) -> None:
        self.stop_event.set()
        self.join()


# -- the two routes ---------------------------------------------------------------------------------


def run_batch(course: Path, workers: int, tree: Path = ROOT) -> dict[str, Any]:
    """The batch of the kit checked out in `tree` (this one by default) over `course`."""
    cmd = batch_cmd(course, "--workers", str(workers), "--no-feedback")
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=tree, env=nbgrader_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    sampler = MemorySampler(proc.pid)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    sampler.stop()
    if proc.returncode != 0:
        raise SystemExit(f"batch failed:\n{out}\n{err}")
    return {"wall": wall, "summary": out.strip(), "memory": sampler}


PLAIN_CONFIG = """\
# nbgrader's defaults (Autograde.autograde_preprocessors starts with Execute); only the course.
c = get_config()
c.CourseDirectory.course_id = "dl-nb74"
c.CourseDirectory.root = {root!r}
c.CourseDirectory.db_url = {db!r}
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.solution_directory = "solutions"
c.OverwriteCells.add_missing_cells = True
c.Execute.timeout = 120
"""


def run_plain_nbgrader(course: Path) -> dict[str, Any]:
    config_dir = course / "plain-config"
    config_dir.mkdir()
    (config_dir / "nbgrader_config.py").write_text(
        PLAIN_CONFIG.format(root=str(course), db=f"sqlite:///{course / 'gradebook.db'}"), encoding="utf-8"
    )
    cmd = [sys.executable, "-m", "nbgrader", "autograde", A, "--force"]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=config_dir, env=nbgrader_env(), capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        print(f"warning: nbgrader autograde exited {done.returncode}:\n{done.stderr[-2000:]}", file=sys.stderr)
    return {"wall": wall, "returncode": done.returncode, "log": done.stderr + done.stdout}


def gradebook_scores(db: Path) -> dict[str, dict[str, float]]:
    """{student: {grade cell: score, '_total': total}}."""
    from nbgrader.api import Gradebook

    out: dict[str, dict[str, float]] = {}
    with Gradebook(f"sqlite:///{db}") as gb:
        for sub in gb.assignment_submissions(A):
            row = {g.name: float(g.score) for nb in sub.notebooks for g in nb.grades}
            row["_total"] = float(sub.score)
            out[sub.student_id] = row
    return out


def compare(
    batch: dict[str, dict[str, float]], plain: dict[str, dict[str, float]], who: dict[str, str]
) -> tuple[int, list[str]]:
    agree, lines = 0, []
    by_variant: dict[str, list[str]] = {}
    for student in sorted(who):
        b, p = batch.get(student), plain.get(student)
        if b is None or p is None:
            lines.append(f"{student} ({who[student]}): missing from {'batch' if b is None else 'nbgrader'}")
            continue
        if abs(b["_total"] - p["_total"]) < 1e-6:
            agree += 1
            continue
        cells = [
            f"{c} {b.get(c, 0):g} vs {p.get(c, 0):g}"
            for c in sorted(b)
            if c != "_total" and abs(b.get(c, 0) - p.get(c, 0)) > 1e-6
        ]
        by_variant.setdefault(
            f"{who[student]}: judge {b['_total']:g} vs nbgrader {p['_total']:g} ({'; '.join(cells)})", []
        ).append(student)
    for what, students in by_variant.items():
        lines.append(f"{len(students):4d} × {what} — e.g. {', '.join(students[:3])}")
    return agree, lines


def consistent(
    batch: dict[str, dict[str, float]], plain: dict[str, dict[str, float]], who: dict[str, str]
) -> tuple[int, list[str]]:
    """Where the two routes must agree: the judge takes points off a test cell only where
    nbgrader's execution also does (it adds cascades: a Linear bug also fails the MLP and the
    exercises in the kernel, and gives no partial credit), and a correct submission scores the same."""
    full = {p.test_cell: p.points for p in RUBRIC.parts.values()}
    ok, bad = 0, []
    for student in sorted(who):
        b, p = batch.get(student), plain.get(student)
        if b is None or p is None:
            bad.append(f"{student}: missing")
            continue
        judge_off = {c for c, pts in full.items() if b.get(c, 0) < pts - 1e-6}
        kernel_off = {c for c, pts in full.items() if p.get(c, 0) < pts - 1e-6}
        correct = who[student] == "correct"
        if judge_off <= kernel_off and (not kernel_off if correct else bool(judge_off)):
            ok += 1
        else:
            bad.append(f"{student} ({who[student]}): judge off {sorted(judge_off)}, nbgrader off {sorted(kernel_off)}")
    return ok, bad


def mib(x: int) -> str:
    return f"{x / 2**20:.0f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100, help="number of submissions (default 100)")
    parser.add_argument("--workers", type=int, default=2, help="batch workers (default 2)")
    parser.add_argument("--memory-only", action="store_true", help="time and measure the batch only (no nbgrader run)")
    parser.add_argument("--keep", metavar="DIR", help="build the courses in DIR and keep them")
    parser.add_argument(
        "--compare",
        metavar="TREE",
        type=Path,
        help="also run the batch of the kit checked out in TREE (e.g. a git worktree of the previous commit), "
        "alternating with this one, on copies of the same course; prints both and checks their gradebooks agree",
    )
    parser.add_argument("--rounds", type=int, default=1, help="with --compare: alternating runs per tree (default 1)")
    args = parser.parse_args()
    if args.compare is not None:
        compare_trees(args)
        return

    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="nb74-bench-batch-"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
        t = time.perf_counter()
        base = tmp / "base"
        who = build_course(base, args.n)
        counts = {label: sum(1 for v in who.values() if v == label) for label, _ in variants()}
        print(
            f"course: {args.n} submissions ({', '.join(f'{k} {v}' for k, v in counts.items())}), "
            f"built in {time.perf_counter() - t:.1f} s"
        )

        batch_course = copy_course(base, tmp / "batch")
        batch = run_batch(batch_course, args.workers)
        mem = batch["memory"]
        rows = [
            (
                "batch (judge)",
                f"--workers {args.workers} --no-feedback",
                f"{batch['wall']:.1f} s",
                f"{batch['wall'] / args.n:.2f} s",
            )
        ]
        plain = None
        if not args.memory_only:
            plain_course = copy_course(base, tmp / "nbgrader")
            plain = run_plain_nbgrader(plain_course)
            rows.append(
                (
                    "nbgrader autograde",
                    "Execute (kernel per notebook)",
                    f"{plain['wall']:.1f} s",
                    f"{plain['wall'] / args.n:.2f} s",
                )
            )

        print()
        print(f"{'route':<20}{'how':<34}{'wall':>10}{'per submission':>16}")
        for r in rows:
            print(f"{r[0]:<20}{r[1]:<34}{r[2]:>10}{r[3]:>16}")
        if plain is not None:
            print(f"{'ratio':<20}{'nbgrader / batch':<34}{plain['wall'] / batch['wall']:>9.1f}×")
        print()
        print(
            f"batch peak memory (N={args.n}, {mem.samples} samples every 50 ms, {'psutil' if mem.psutil else '/proc'}):"
        )
        print(f"  coordinator RSS peak {mib(mem.peak_root)}, VmHWM {mib(mem.hwm_root)}")
        print(f"  process tree RSS sum peak {mib(mem.peak_tree)} over {mem.peak_procs} processes")
        print()
        print("batch summary:\n  " + batch["summary"].replace("\n", "\n  "))

        if plain is not None:
            b = gradebook_scores(batch_course / "gradebook.db")
            p = gradebook_scores(plain_course / "gradebook.db")
            agree, lines = compare(b, p, who)
            print()
            print(f"per-student totals: {agree} / {args.n} equal between the judge and nbgrader's execution")
            for line in lines:
                print("  " + line)
            ok, bad = consistent(b, p, who)
            print(
                f"scores agree where they must: {ok} / {args.n} (the judge takes points only from test "
                "cells that nbgrader's execution also fails; correct submissions score the same)"
            )
            for line in bad[:10]:
                print("  DISAGREE " + line)
        print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def compare_trees(args: argparse.Namespace) -> None:
    """This tree's batch and TREE's, alternating on copies of one course: wall time and peak memory of each."""
    trees = {"this": ROOT, "compare": args.compare.resolve()}
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="nb74-bench-batch-"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
        base = tmp / "base"
        build_course(base, args.n)
        print(f"course: {args.n} submissions; trees: this = {ROOT}, compare = {trees['compare']}")
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
        scores: dict[str, dict[str, dict[str, float]]] = {}
        for r in range(args.rounds):
            for name, tree in trees.items():
                course = copy_course(base, tmp / f"{name}-{r}")
                runs[name].append(run_batch(course, args.workers, tree))
                scores[name] = gradebook_scores(course / "gradebook.db")
                shutil.rmtree(course, ignore_errors=True)
        print()
        print(f"{'tree':<10}{'walls (s)':<28}{'median':>9}{'per submission':>16}{'tree RSS peak':>15}")
        for name, rs in runs.items():
            walls = sorted(x["wall"] for x in rs)
            median = walls[len(walls) // 2]
            peak = max(x["memory"].peak_tree for x in rs)
            shown = " ".join(f"{x['wall']:.1f}" for x in rs)
            print(f"{name:<10}{shown:<28}{median:>8.1f}s{median / args.n:>15.2f}s{mib(peak):>15}")
        same = scores["this"] == scores["compare"]
        print(f"\ngradebook scores identical between the two trees: {same}")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if not same:
            raise SystemExit(1)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
