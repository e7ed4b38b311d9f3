"""Wall time of grading one correct submission with the judge CLI, as a user runs it.

    .venv/bin/python benchmarks/bench_judge.py [--runs 20]

Prints the median (and min/max) over the runs of
`python -m autograder grade solutions/<a>/<nb>.ipynb --json ...`, beside the median of
`python -c "import numpy"` on the same machine, and the isolation level in effect. Grades run
as they do for an instructor, with the judge's store of expected values filled by the first grade
(autograder/graders/expected_store.py); the same number of runs with no store at all (as the very
first grade on a fresh machine) is printed too, and grades of a new submission each run (the
solution with one comment changed: its hidden inputs, drawn from the course secret and the code, are
new, so its expected values are not stored yet). The kinds of run are interleaved, so that the
machine's drift affects them alike.

    .venv/bin/python benchmarks/bench_judge.py --runs 20 --compare /tmp/base

--compare DIR also times every kind of grade with the kit checked out in DIR (e.g. a git worktree
of an earlier commit), interleaved with this one's: before and after side by side in one run.

    .venv/bin/python benchmarks/bench_judge.py --runs 20 --diagnosis

--diagnosis also times, in this tree, a submission with one catalog bug in each backward part
(BUGGY: every part fails, so every part is diagnosed) and the correct one, each graded as usual and
with `--no-diagnosis`, interleaved, and prints what the diagnosis costs (issue 11: at most 20% on
the buggy submission, nothing on the correct one).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.graders.expected_store import ENV_PATH  # noqa: E402
from tests.bugs.catalog import BUGS  # noqa: E402
from tests.nb74 import NB74  # noqa: E402
from tests.submissions import make_submission  # noqa: E402

# one bug per backward part: a transpose, two wrong derivatives, a wrong mask, two scale factors
BUGGY = (
    "linear_dW_transposed",
    "sigmoid_uses_x",
    "relu_mask_from_dout",
    "tanh_one_minus_y",
    "mse_seed_2_over_N",
    "softmax_no_1_over_N",
)


def timed(cmd: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def new_submission(solution: Path, path: Path, k: int) -> Path:
    """The solution with a comment added to its first code cell: other code, so other hidden inputs."""
    nb = json.loads(solution.read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("solution"))
    src = cell["source"]
    cell["source"] = ("".join(src) if isinstance(src, list) else src) + f"\n# submission {k}\n"
    path.write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")
    return path


def summary(times: list[float]) -> str:
    return f"median {statistics.median(times):.3f} s (min {min(times):.3f}, max {max(times):.3f}, {len(times)} runs)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--compare", metavar="DIR", type=Path, help="also time the kit checked out in DIR")
    parser.add_argument("--diagnosis", action="store_true", help="also time grades with and without the diagnosis")
    args = parser.parse_args()
    if args.diagnosis:
        diagnosis_cost(args.runs)
        return
    r = NB74.rubric
    trees = {"this": ROOT} | ({"compare": args.compare.resolve()} if args.compare else {})
    no_store = {**os.environ, ENV_PATH: ""}
    kinds = ("grade one correct submission", "  the same, no stored values", "  a new submission each run")
    times = {(t, k): [] for t in trees for k in kinds}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results.json"

        def grade(tree: Path, nb: Path) -> list[str]:
            return [sys.executable, "-m", "autograder", "grade", str(nb), "--json", str(out)]

        solutions = {t: tree / "solutions" / r.assignment / f"{r.notebook}.ipynb" for t, tree in trees.items()}
        numpy = [sys.executable, "-c", "import numpy"]
        for t, tree in trees.items():
            timed(grade(tree, solutions[t]), cwd=tree)  # warms the file cache and fills the store
        numpys, scores = [], {}
        for i in range(args.runs):
            for t, tree in trees.items():
                times[(t, kinds[0])].append(timed(grade(tree, solutions[t]), cwd=tree))
                scores[t] = json.loads(out.read_text(encoding="utf-8"))
                times[(t, kinds[1])].append(timed(grade(tree, solutions[t]), no_store, cwd=tree))
                fresh = new_submission(solutions[t], Path(tmp) / f"new-{t}-{i}.ipynb", i)
                times[(t, kinds[2])].append(timed(grade(tree, fresh), cwd=tree))
            numpys.append(timed(numpy))
    for t, tree in trees.items():
        if len(trees) > 1:
            print(f"{tree}:")
        for k in kinds:
            print(f"{k:29s}: {summary(times[(t, k)])}")
        print(f"score {scores[t]['score']:g} / {scores[t]['max_score']:g}, isolation {scores[t]['isolation']}")
    print(f'python -c "import numpy"     : median {statistics.median(numpys):.3f} s')


def diagnosis_cost(runs: int) -> None:
    r = NB74.rubric
    solution = ROOT / "solutions" / r.assignment / f"{r.notebook}.ipynb"
    entries = [e for e in BUGS if e.name in BUGGY]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results.json"
        buggy = make_submission(Path(tmp) / "buggy.ipynb", {e.cell: e.source for e in entries})
        grade = [sys.executable, "-m", "autograder", "grade", "--json", str(out)]
        kinds = [
            ("buggy submission, diagnosed", grade + [str(buggy)]),
            ("  the same, --no-diagnosis", grade + [str(buggy), "--no-diagnosis"]),
            ("correct submission, diagnosed", grade + [str(solution)]),
            ("  the same, --no-diagnosis", grade + [str(solution), "--no-diagnosis"]),
        ]
        cmds = [cmd for _, cmd in kinds]
        for cmd in cmds:
            timed(cmd)  # warms the file cache and fills the store
        times: list[list[float]] = [[] for _ in cmds]
        for _ in range(runs):
            for i, cmd in enumerate(cmds):
                times[i].append(timed(cmd))
        timed(cmds[0])
        diagnosed = json.loads(out.read_text(encoding="utf-8"))
    for (name, _), t in zip(kinds, times, strict=True):
        print(f"{name:31s}: {summary(t)}")
    m = [statistics.median(t) for t in times]
    print(f"diagnosis cost, buggy submission: {m[0] / m[1] - 1:+.1%} (median {m[0]:.3f} s vs {m[1]:.3f} s)")
    print(f"diagnosis cost, correct submission: {m[2] / m[3] - 1:+.1%} (median {m[2]:.3f} s vs {m[3]:.3f} s)")
    found = sorted({(d["part"], d["code"]) for d in diagnosed.get("diagnoses", [])})
    print(f"buggy submission: score {diagnosed['score']:g}, diagnoses {found}")


if __name__ == "__main__":
    main()
