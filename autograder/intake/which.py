"""Which assignment a notebook is: the one question every route asks of a file it was not told about
(`python -m autograder grade NB` without --assignment, the Gradescope zip's choice of a file).

A notebook is an assignment's when it holds that assignment's graded cells (their nbgrader
grade_ids), or, its metadata lost, when it defines one of its answers differently from the release
(autograder.intake.canonical lays it on the release by content). Read by the intake with its
bounds, never executed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..course.assignment import Assignment
from .canonical import canonical
from .read import SubmissionError, read_notebook, release_skeleton
from .skeleton import grade_id, text

PEEK_BYTES = 50 << 20  # the intake's own limit applies to the graded file; this only bounds the peek


def read_peek(path: Path) -> dict[str, Any] | None:
    """The notebook as the intake reads it, or None (too large to peek, unreadable, no notebook)."""
    try:
        if path.stat().st_size > PEEK_BYTES:
            return None
        return read_notebook(path).notebook
    except (OSError, ValueError, SubmissionError):
        return None


def graded_cells(nb: dict[str, Any], assignment: Assignment) -> int:
    """How many of the assignment's graded test cells (by grade_id) the notebook holds."""
    ids = {grade_id(c) for c in nb.get("cells", [])}
    rubric = assignment.rubric
    return len(ids & {p.test_cell for p in rubric.parts.values()})


def answered_by_content(nb: dict[str, Any], assignment: Assignment) -> int:
    """How many of the assignment's answers the notebook gives (differing from the release's stub),
    its cells laid on the release by content (the metadata lost)."""
    try:
        sk = release_skeleton(assignment)
        laid, _ = canonical(nb, sk)
    except (OSError, ValueError):  # CanonicalError is a ValueError
        return 0
    stub = {grade_id(c): text(c["source"]) for c in sk.release["cells"]}
    return sum(1 for c in laid["cells"] if grade_id(c) in sk.answers and text(c["source"]) != stub[grade_id(c)])


def best_matches(nb: dict[str, Any], candidates: tuple[Assignment, ...]) -> list[Assignment]:
    """The candidates the notebook matches best: by its graded cells' ids, else (none of any
    candidate there) by content. Empty if it matches none; several if they tie."""
    for score in (graded_cells, answered_by_content):
        scores = {a: score(nb, a) for a in candidates}
        best = max(scores.values(), default=0)
        if best > 0:
            return [a for a in candidates if scores[a] == best]
    return []


def is_notebook_of(path: Path, assignment: Assignment) -> bool:
    """Whether the file holds the assignment's graded cells or defines one of its answers."""
    nb = read_peek(path)
    return nb is not None and bool(best_matches(nb, (assignment,)))


def assignment_of(path: Path, candidates: tuple[Assignment, ...]) -> list[Assignment]:
    """The assignment a submitted file is, for `grade` without --assignment: the one whose notebook
    name the file has; else the kit's only assignment; else the ones its content matches best
    (best_matches). Exactly one found is the answer; none or several, the caller asks for --assignment."""
    named = [a for a in candidates if a.notebook == path.stem]
    if len(named) == 1:
        return named
    if len(candidates) == 1:
        return list(candidates)
    nb = read_peek(path)
    return best_matches(nb, candidates) if nb is not None else []
