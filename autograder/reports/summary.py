"""The judge's results as Markdown, for `$GITHUB_STEP_SUMMARY` or a merge-request comment.

    grade_summary("matrix_backprop.ipynb", results, rubric)   # one table, a row per rubric part
    batch_summary({"s001": results, ...}, rubric, skipped=3)  # a class line, then a table per part, a row per student
    append_summary(text, Path(os.environ["GITHUB_STEP_SUMMARY"]))

Every student-controlled string (student id, messages quoting the student's exceptions) goes
through `cell()`: bounded, one line, Markdown's active characters and `|` escaped
(autograder.course.plain_text.markdown_escape), so it can neither break the table nor add markup
(HTML, links, images, code).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ..course.assignment import Part, Rubric
from ..course.plain_text import bounded, markdown_escape
from ..feedback.messages import DIAGNOSIS, part_messages
from ..results import Results
from . import messages as say

CELL_CHARS = 160  # characters of a message in a table cell (the full text is in the report and JUnit)
# GitHub shows at most 1 MiB of a step's summary: a class's table stops before that, saying so.
MAX_SUMMARY_BYTES = 900_000


def cell(text: object, limit: int = CELL_CHARS) -> str:
    """A table cell's text: bounded, on one line, inert (no tag, entity, link, autolink, code, or
    column break)."""
    return markdown_escape(bounded(text, limit)) or " "


def part_row(results: Results, part: Part, rubric: Rubric) -> list[str]:
    """Points earned / max, passed and failed tests, the first failure's message, the diagnosis."""
    tests = results.part_tests(part.name)
    passed = sum(t.passed for t in tests)
    diagnoses = results.part_diagnoses(part.name)
    failures = [m for m in part_messages(results, part.name, rubric) if not m.startswith(DIAGNOSIS)]
    got = results.part_scores().get(part.name, 0.0)
    return [
        f"{got:g} / {part.points:g}",
        str(passed),
        str(len(tests) - passed),
        cell(failures[0]) if failures else "",
        cell(diagnoses[0].message) if diagnoses else "",
    ]


def problems_lines(results: Results) -> list[str]:
    return [f"- ⚠ {cell(m, 300)}" for m in results.messages()]


def grade_summary(name: str, results: Results, rubric: Rubric) -> str:
    lines = [
        say.grade_title(cell(name, 200), results.score, results.max_score),
        "",
        say.confinement(cell(str(results.confinement), 100)),
        *problems_lines(results),
        "",
        say.HEADER.format(who=say.ITEM),
    ]
    lines += ["| " + " | ".join([cell(p.title), *part_row(results, p, rubric)]) + " |" for p in rubric.parts.values()]
    return "\n".join(lines) + "\n"


def batch_summary(
    submissions: Mapping[str, Results],
    rubric: Rubric,
    skipped: int = 0,
    not_recorded: list[str] | None = None,
    grader_errors: Mapping[str, Results] | None = None,
) -> str:
    """A class line (who was graded, the mean, who could not be graded or recorded), then per part a row per
    student and the class's line (mean points, all passes and failures). `skipped`: how many of the
    submissions were not graded again (unchanged: their recorded results are shown). `grader_errors`:
    the submissions graded with a grading error (the kit's failure), recorded for nobody."""
    n = len(submissions)
    mean = sum(r.score for r in submissions.values()) / n if n else 0.0
    problem = sorted(s for s, r in submissions.items() if r.refused) + sorted(not_recorded or [])
    lines = [
        say.class_title(n, mean, rubric.max_score, skipped),
        "",
    ]
    if grader_errors:
        shown = ", ".join(f"{cell(s, 80)}（{cell(', '.join(r.grader_errors), 200)}）" for s, r in grader_errors.items())
        lines.append(say.not_recorded_for_grader_error(len(grader_errors), shown))
        lines.append("")
    if problem:
        shown = ", ".join(cell(s, 80) for s in problem[:50])
        lines.append(say.not_graded(len(problem), shown) + (" …" if len(problem) > 50 else ""))
        lines.append("")
    size = sum(len(x.encode()) + 1 for x in lines)
    for part in rubric.parts.values():
        block = [say.part_heading(part.title, part.points), "", say.HEADER.format(who=say.STUDENT)]
        for student, results in submissions.items():
            block.append("| " + " | ".join([cell(student, 80), *part_row(results, part, rubric)]) + " |")
        scores = [r.part_scores().get(part.name, 0.0) for r in submissions.values()]
        tests = [t for r in submissions.values() for t in r.part_tests(part.name)]
        passed = sum(t.passed for t in tests)
        part_mean = sum(scores) / n if n else 0.0
        block.append(say.class_row(n, part_mean, part.points, passed, len(tests) - passed))
        block.append("")
        cost = sum(len(x.encode()) + 1 for x in block)
        if size + cost > MAX_SUMMARY_BYTES:
            lines.append(say.cut_short(part.title))
            break
        lines += block
        size += cost
    return "\n".join(lines) + "\n"


def append_summary(text: str, path: Path) -> None:
    """Appended, never overwritten: GitHub concatenates every step's writes to $GITHUB_STEP_SUMMARY."""
    with Path(path).open("a", encoding="utf-8") as f:
        f.write(text.rstrip("\n") + "\n\n")  # a blank line: the next step's heading never joins a table
