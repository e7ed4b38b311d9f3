"""How long the class report takes on a generated class (default 1,000 students, mixed bugs).

    .venv/bin/python benchmarks/bench_report.py [--n 1000] [--runs 3] [--keep DIR]

Builds the class as tests/test_class_report.py does (tests/generated_class.py: fifteen kinds of
submission graded once by the real batch, then recorded per student), then times, side by side in
one run:

  (a) the command an instructor runs, `python -m autograder report <a> --no-progress` (a new
      process: imports included), wall time per run;
  (b) in this process, after one warm-up: loading the class from the gradebook (two queries and
      the results' JSON), the tables, the two histograms, and the page with its CSV files.

Prints medians and the machine's load average (this machine is shared: times move with it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from autograder.reports.graded import load_class  # noqa: E402
from autograder.reports.page import render  # noqa: E402
from autograder.reports.plots import parts_figure, totals_figure  # noqa: E402
from autograder.reports.tables import diagnosis_groups, failure_shares, grading_problems  # noqa: E402
from tests.course import A, db_url  # noqa: E402
from tests.generated_class import generate_class, grade_kinds  # noqa: E402
from tests.nb74 import NB74  # noqa: E402


def timed(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="build the class here and keep it")
    args = ap.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="bench-report-"))
    base.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    kinds = grade_kinds(base / "kinds")
    t1 = time.perf_counter()
    generate_class(kinds, base / "class", base / "kinds", n=args.n)
    t2 = time.perf_counter()
    course, out = base / "class", base / "report"
    url, rubric = db_url(course), NB74.rubric
    cmd = [sys.executable, "-m", "autograder", "report", A, "--root", str(course), "--out", str(out), "--no-progress"]

    def cli() -> None:
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)

    cls = load_class(url, A)  # warm-up (imports nbgrader, matplotlib)
    render(cls, rubric, A, url, out)
    rows = [
        ("python -m autograder report (new process)", timed(cli, args.runs)),
        ("  load the class from the gradebook", timed(lambda: load_class(url, A), args.runs)),
        (
            "  tables (failures, diagnoses, problems)",
            timed(
                lambda: (failure_shares(cls, rubric), diagnosis_groups(cls, rubric), grading_problems(cls)), args.runs
            ),
        ),
        ("  two histograms (PNG)", timed(lambda: (totals_figure(cls, rubric), parts_figure(cls, rubric)), args.runs)),
        ("  page and CSV files (histograms included)", timed(lambda: render(cls, rubric, A, url, out), args.runs)),
    ]
    print(
        f"class of {len(cls)} students: {len(kinds)} kinds graded by the batch in {t1 - t0:.1f} s, recorded in {t2 - t1:.1f} s"
    )
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; medians of {args.runs} runs")
    for name, seconds in rows:
        print(f"  {name:<48} {seconds:7.3f} s")
    print(f"report: {out / 'index.html'} ({(out / 'index.html').stat().st_size / 1024:.0f} KiB)")
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
