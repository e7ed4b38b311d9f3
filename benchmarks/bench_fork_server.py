"""Grading many submissions in one judge process, with and without a ForkServer.

    .venv/bin/python benchmarks/bench_fork_server.py [--runs 20] [--isolation auto]

Grades the solution notebook --runs times in this process each way (in turns, so that both see
the same machine load) and prints the median wall time per submission, the median start-up of
a student process alone (spawn until ready, then close), and the median of
`python -c "import numpy"` on the same machine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.judge.grade import grade  # noqa: E402
from autograder.sandbox.fork_server import ForkServer  # noqa: E402
from autograder.sandbox.process import StudentProcess  # noqa: E402
from tests.nb74 import NB74  # noqa: E402


def medians(fns: list[Callable[[], object]], runs: int) -> list[float]:
    """Median wall time of each function, run in turns so that all see the same machine load."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for fn, ts in zip(fns, times):
            start = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - start)
    return [statistics.median(ts) for ts in times]


def start_student(isolation: str, server: ForkServer | None) -> None:
    with StudentProcess(isolation=isolation, server=server) as proc:
        proc.start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--isolation", default="auto", choices=["auto", "bwrap", "process"])
    args = parser.parse_args()
    r = NB74.rubric
    solution = ROOT / "solutions" / r.assignment / f"{r.notebook}.ipynb"
    iso, n = args.isolation, args.runs

    expected = grade(solution, NB74, isolation=iso)  # warm-up: imports, file cache
    with ForkServer(iso) as server:
        assert grade(solution, NB74, server=server) == expected  # also starts the master
        one_shot, served = medians(
            [lambda: grade(solution, NB74, isolation=iso), lambda: grade(solution, NB74, server=server)], n
        )
        one_shot_start, served_start, numpy = medians(
            [
                lambda: start_student(iso, None),
                lambda: start_student(iso, server),
                lambda: subprocess.run([sys.executable, "-c", "import numpy"], check=True),
            ],
            n,
        )

    print(f"isolation {expected['isolation']}, score {expected['score']:g} / {expected['max_score']:g}, {n} runs each")
    print(f"grade one submission, no server   : median {one_shot:.3f} s  (student start-up {one_shot_start:.3f} s)")
    print(f"grade one submission, ForkServer  : median {served:.3f} s  (student start-up {served_start:.3f} s)")
    print(f'python -c "import numpy"          : median {numpy:.3f} s')


if __name__ == "__main__":
    main()
