"""Wall time of grading one correct submission with the judge CLI, as a user runs it.

    .venv/bin/python benchmarks/bench_judge.py [--runs 20]

Prints the median (and min/max) over the runs of
`python -m autograder grade solutions/<a>/<nb>.ipynb --json ...`, beside the median of
`python -c "import numpy"` on the same machine, and the isolation level in effect.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.assignment import load_rubric  # noqa: E402


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    r = load_rubric()
    solution = ROOT / "solutions" / r.assignment / f"{r.notebook}.ipynb"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results.json"
        grade = [sys.executable, "-m", "autograder", "grade", str(solution), "--json", str(out)]
        numpy = [sys.executable, "-c", "import numpy"]
        timed(grade)  # warm the file cache
        grades = [timed(grade) for _ in range(args.runs)]
        numpys = [timed(numpy) for _ in range(args.runs)]
        results = json.loads(out.read_text(encoding="utf-8"))
    print(f"grade one correct submission : median {statistics.median(grades):.3f} s "
          f"(min {min(grades):.3f}, max {max(grades):.3f}, {args.runs} runs)")
    print(f'python -c "import numpy"     : median {statistics.median(numpys):.3f} s')
    print(f"score {results['score']:g} / {results['max_score']:g}, isolation {results['isolation']}")


if __name__ == "__main__":
    main()
