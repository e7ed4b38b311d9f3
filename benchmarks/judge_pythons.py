"""The judge's runtime on each Python the machine has: one venv of autograder/requirements-judge.txt
per interpreter, a grade of the solution, the release and a buggy submission, the totals side by
side with the kit's own judge (Python 3.11, requirements.lock), and each grade's wall time.

    .venv/bin/python benchmarks/judge_pythons.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import pythons
from tests.bugs.catalog import BUGS
from tests.submissions import RELEASE, SOLUTION, make_submission
from tests.test_judge_pythons import ONE_BUG_PER_PART


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        buggy = make_submission(
            Path(tmp) / "buggy.ipynb", {e.cell: e.source for e in BUGS if e.name in ONE_BUG_PER_PART}
        )
        notebooks = {"solution": SOLUTION, "release": RELEASE, "buggy": buggy}
        rows = [("kit (.venv)", pythons.kit_python())]
        for version in pythons.VERSIONS:
            found = pythons.interpreter(version)
            rows.append((f"Python {version}", pythons.judge_venv(found) if found else None))
        reference: dict[str, float] = {}
        failures = 0
        print(
            f"{'interpreter':14} {'solution':>9} {'release':>8} {'buggy':>7} {'isolation':>16} {'s/grade':>8}  same as kit"
        )
        for label, python in rows:
            if python is None:
                print(f"{label:14} not on this machine")
                failures += 1
                continue
            totals, isolation, start = {}, "", time.perf_counter()
            for kind, nb in notebooks.items():
                results = pythons.grade(python, nb, Path(tmp) / f"{kind}.json")
                totals[kind] = results["score"]
                isolation = results["isolation"]
            per_grade = (time.perf_counter() - start) / len(notebooks)
            reference = reference or totals
            same = totals == reference
            failures += not same
            print(
                f"{label:14} {totals['solution']:9.2f} {totals['release']:8.2f} {totals['buggy']:7.2f}"
                f" {isolation:>16} {per_grade:8.2f}  {'yes' if same else 'NO'}"
            )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
