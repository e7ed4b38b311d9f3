"""Grade a whole class: `python -m autograder batch <assignment> --workers N [--dask ADDRESS]`.

Reads nbgrader's layout (submitted/<student>/<assignment>/*.ipynb), grades every submission whose
content changed since it was last recorded, in parallel (local worker processes or a Dask
cluster), and writes the same things as `nbgrader autograde` with the judge: scores and comments
in nbgrader's gradebook, autograded/<student>/<assignment>/<notebook>.ipynb, and feedback.

Crash-safe: results are written by this (coordinating) process only, one submission per database
transaction together with the hash of what was graded (see gradebook.py). Kill it at any moment
and run it again: finished submissions are skipped, the rest graded; the gradebook ends as after
one uninterrupted run.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from ...course import assignment as registry
from ...course.files import write_atomic
from ...feedback.terminal import columns, pad
from ...intake.read import (
    SubmissionError,
    add_memo,
    shown,
)
from ...intake.submissions import Submission, discover
from ...results import Results
from ...sandbox.levels import IsolationRequest
from ..nbgrader_hooks.glue import generate_feedback
from . import messages as say
from .pool import DaskPool, LocalPool, read_canonical

# -- writing (coordinator only) ------------------------------------------------------------------


def write_autograded(root: Path, assignment: str, sub: Submission, results: Results) -> None:
    """autograded/<student>/<assignment>/<notebook>.ipynb: the submission (or, if refused, the
    release) with the judge's verdict in its test cells. Written atomically."""
    kit = registry.assignment(assignment)
    rubric = kit.rubric
    release = json.loads((root / "release" / assignment / f"{rubric.notebook}.ipynb").read_text(encoding="utf-8"))
    nb = release
    if sub.path is not None and not results.refused:
        try:
            nb = read_canonical(sub.path, kit)[0]
        except SubmissionError:  # refused (changed since it was graded): the release carries the verdict
            nb = json.loads(json.dumps(release))
    for cell in nb["cells"]:  # the student's outputs are not the judge's: drop them (and their size)
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
    from ..nbgrader_hooks.preprocessors.judge_scores import (
        apply_results,  # imports nbgrader: coordinator only, not workers
    )

    apply_results(nb, results, kit)
    add_memo(nb, results.messages())
    out = root / "autograded" / sub.student / assignment / f"{rubric.notebook}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, json.dumps(nb, ensure_ascii=False, indent=1).encode("utf-8", "replace"))
    stamp = out.parent / "timestamp.txt"
    if sub.timestamp:
        stamp.write_text(sub.timestamp, encoding="utf-8")
    elif stamp.exists():  # a rerun without a (valid) timestamp: drop the old one
        stamp.unlink()


def save(root: Path, assignment: str, book: Any, sub: Submission, results: Results) -> Results | None:
    """Write and record one submission. A failure there is this student's only: tried again
    without the timestamp, then as 0 with the reason. Returns what was recorded (None if nothing
    could be: logged, and the student is graded again on the next run)."""
    from dataclasses import replace

    errors: list[str] = []
    for attempt in range(3):
        if attempt == 1:
            sub = replace(sub, timestamp=None)
            results = results.with_notes([say.NO_TIMESTAMP])
        elif attempt == 2:
            why = say.not_recorded(errors[0])
            results = Results.empty(registry.assignment(assignment).rubric, why, results.confinement)
        try:
            write_autograded(root, assignment, sub, results)
            book.record(assignment, sub.student, sub.sha256, results, sub.timestamp)
            return results
        except Exception as exc:  # the gradebook rolled this submission back
            errors.append(type(exc).__name__)
            print(
                f"error: recording {shown(sub.student)} (attempt {attempt + 1}): {type(exc).__name__}: "
                f"{shown(str(exc))[:300]}",
                file=sys.stderr,
            )
    return None


def run_batch(
    root: Path,
    assignment: str,
    db_url: str,
    workers: int = 2,
    dask: str | None = None,
    isolation: IsolationRequest = "auto",
    feedback: bool = True,
    progress: bool = True,
    course_id: str = "",
) -> dict[str, Any]:
    from tqdm import tqdm

    from ..nbgrader_hooks.gradebook import JudgeGradebook

    start = time.monotonic()
    root = Path(root).resolve()
    subs = discover(root, registry.assignment(assignment))
    with JudgeGradebook(db_url, course_id) as book:
        book.check_assignment(assignment)
        done_before = book.graded(assignment)
        todo = [s for s in subs if done_before.get(s.student) != s.sha256]
        pool = DaskPool(dask) if dask else LocalPool(workers)
        failures: Counter[str] = Counter()
        scores: dict[str, float] = {}
        recorded: dict[str, Results] = {}  # what was recorded this run (the --junit and --summary reports)
        broken: dict[str, Results] = {}  # graded with a grading error (the kit's failure): not recorded
        bar = tqdm(total=len(todo), desc=say.PROGRESS, unit=say.UNIT, disable=not progress, dynamic_ncols=True)
        try:
            for sub, text in pool.map(todo, assignment, isolation):
                graded = Results.from_json(text)
                if graded.grader_errors:  # no score for it: graded again on the next run, once fixed
                    broken[sub.student] = graded
                    failures[sub.student] += 1
                    bar.update(1)
                    continue
                results = save(root, assignment, book, sub, graded)
                if results is None:
                    failures[sub.student] += 1
                    bar.update(1)
                    continue
                scores[sub.student] = results.score
                recorded[sub.student] = results
                if results.failed:
                    failures[sub.student] += 1
                bar.update(1)
                bar.set_postfix({say.FAILED: len(failures)})
        finally:
            bar.close()
            pool.close()
    no_feedback = generate_feedback(root, assignment, db_url) if feedback and scores else []
    return {
        "submissions": len(subs),
        "graded": len(scores),
        "skipped": len(subs) - len(todo),
        "failures": sorted(failures),
        "scores": scores,
        "seconds": time.monotonic() - start,
        "feedback_failures": no_feedback,
        "results": recorded,
        "grader_errors": broken,
    }


def summary_table(summary: dict[str, Any]) -> str:
    scores = list(summary["scores"].values())
    mean = sum(scores) / len(scores) if scores else 0.0
    rows = [
        (say.SUBMISSIONS, summary["submissions"]),
        (say.GRADED, summary["graded"]),
        (say.SKIPPED, summary["skipped"]),
        (say.FAILURES, len(summary["failures"])),
        (say.MEAN, f"{mean:.2f}"),
        (say.SECONDS, f"{summary['seconds']:.1f} s"),
    ]
    width = max(columns(k) for k, _ in rows) + 2  # terminal columns: the labels are Japanese
    lines = [f"{pad(k, width)}{v}" for k, v in rows]
    if summary["failures"]:
        lines.append(say.WITH_PROBLEMS + ", ".join(summary["failures"][:20]))
    if summary.get("grader_errors"):
        broken = [f"{s}（{', '.join(r.grader_errors)}）" for s, r in sorted(summary["grader_errors"].items())]
        lines.append(say.GRADER_ERRORS + ", ".join(broken[:20]))
    if summary.get("feedback_failures"):
        lines.append(say.NO_FEEDBACK + ", ".join(summary["feedback_failures"][:20]))
    return "\n".join(lines)
