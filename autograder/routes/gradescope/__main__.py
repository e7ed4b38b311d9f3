"""run_autograder's work: pick the submission's notebook, grade it with the judge CLI, write
Gradescope's results.json. Whatever happens, a results.json is written (score 0 and the reason), except
for a grading error (the kit's failure): then none, and a non-zero exit (see GraderError)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ...course.assignment import Assignment, assignment, only_assignment
from ...course.exit_codes import EXIT_GRADED, EXIT_GRADER_ERROR, EXIT_PROBLEM
from ...course.files import write_atomic
from ...results import Results
from ...sandbox.budget import SUBMISSION_BUDGET
from . import paths
from .messages import CRASHED
from .results import refused, to_gradescope
from .submission import choose

# A safety net around the judge CLI: its own budget (sandbox/budget.py) ends the grade first; the
# rest is start-up and the sandbox's clean-up.
GRADE_TIMEOUT = SUBMISSION_BUDGET + 120.0


class GraderError(Exception):
    """The judge exited EXIT_GRADER_ERROR: the kit's failure. No results.json is written and
    run_autograder exits non-zero, so Gradescope records no score and tells the student the
    autograder failed (to contact the course staff), never a 0 charged to them."""


def grade(notebook: Path, work: Path, graded: Assignment) -> Results | None:
    """`python -I -m autograder grade` on a private copy of the notebook; None if it failed."""
    copy = work / notebook.name  # the judge's messages name the file as the student did
    shutil.copyfile(notebook, copy, follow_symlinks=False)  # the judge reads the copy, not the upload
    out = work / "results.json"
    # AUTOGRADER_ISOLATION (the instructor's, never the student's): auto takes the strongest level
    isolation = os.environ.get("AUTOGRADER_ISOLATION", "auto")
    cmd = [sys.executable, "-I", "-m", "autograder", "grade", str(copy), "--json", str(out), "--isolation", isolation]
    cmd += ["--assignment", graded.name]
    try:
        done = subprocess.run(cmd, cwd=work, stdin=subprocess.DEVNULL, capture_output=True, timeout=GRADE_TIMEOUT)
    except subprocess.TimeoutExpired:
        return None
    sys.stdout.write(done.stdout.decode("utf-8", "replace"))  # Gradescope's stdout: hidden (results.py)
    sys.stderr.write(done.stderr.decode("utf-8", "replace"))
    if done.returncode == EXIT_GRADER_ERROR:
        raise GraderError("a grader raised or the graders and the rubric disagree (see above)")
    if done.returncode not in (EXIT_GRADED, EXIT_PROBLEM) or not out.is_file():  # 1: refused, with why
        return None
    return Results.from_json(out.read_text(encoding="utf-8"))


def zip_assignment() -> Assignment:
    """The assignment the zip was built for (paths.assignment_name)."""
    name = paths.assignment_name()
    return assignment(name) if name else only_assignment()


def run() -> dict[str, Any]:
    start = time.monotonic()
    graded = zip_assignment()
    rubric = graded.rubric
    choice = choose(paths.submission(), graded)
    if choice.notebook is None:
        return refused(choice.reason, rubric, time.monotonic() - start, choice.notes)
    with tempfile.TemporaryDirectory(prefix="gradescope-") as tmp:
        results = grade(choice.notebook, Path(tmp), graded)
    if results is None:
        return refused(CRASHED, rubric, time.monotonic() - start, choice.notes)
    return to_gradescope(results, rubric, time.monotonic() - start, choice.notes)


def main() -> int:
    target = paths.results_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        results = run()
    except GraderError as exc:
        print(f"run_autograder: grading error, no results written: {exc}", file=sys.stderr)
        return EXIT_GRADER_ERROR
    except Exception as exc:  # a results.json whatever happened: the student sees a reason, not nothing
        print(f"run_autograder: {type(exc).__name__}: {exc}", file=sys.stderr)
        results = refused(CRASHED, zip_assignment().rubric, 0.0)
    write_atomic(target, json.dumps(results, ensure_ascii=False, indent=1))
    print(f"results: {target} score {results['score']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
