"""Wall time of grading one correct submission with the judge CLI, as a user runs it.

    .venv/bin/python benchmarks/bench_judge.py [--runs 20]

Prints the median (and min/max) over the runs of
`python -m autograder grade solutions/<a>/<nb>.ipynb --json ...`, beside the median of
`python -c "import numpy"` on the same machine, and the isolation level in effect. Grades run
as they do for an instructor, with the judge's store of expected values filled by the first grade
(autograder/graders/expected_store.py); the same number of runs with no store at all (as the very
first grade on a fresh machine) is printed too. The three kinds of run are interleaved, so that
the machine's drift affects them alike.
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

from autograder.assignment import load_rubric  # noqa: E402
from autograder.graders.expected_store import ENV_PATH  # noqa: E402


def timed(cmd: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def summary(times: list[float]) -> str:
    return f"median {statistics.median(times):.3f} s (min {min(times):.3f}, max {max(times):.3f}, {len(times)} runs)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    r = load_rubric()
    solution = ROOT / "solutions" / r.assignment / f"{r.notebook}.ipynb"
    no_store = {**os.environ, ENV_PATH: ""}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results.json"
        grade = [sys.executable, "-m", "autograder", "grade", str(solution), "--json", str(out)]
        numpy = [sys.executable, "-c", "import numpy"]
        timed(grade)  # warms the file cache and fills the store
        grades, fresh, numpys = [], [], []
        for _ in range(args.runs):
            grades.append(timed(grade))
            fresh.append(timed(grade, no_store))
            numpys.append(timed(numpy))
        results = json.loads(out.read_text(encoding="utf-8"))
    print(f"grade one correct submission : {summary(grades)}")
    print(f"  the same, no stored values : {summary(fresh)}")
    print(f'python -c "import numpy"     : median {statistics.median(numpys):.3f} s')
    print(f"score {results['score']:g} / {results['max_score']:g}, isolation {results['isolation']}")


if __name__ == "__main__":
    main()
