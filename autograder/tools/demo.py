"""`python -m autograder demo` (`make demo`): the whole instructor flow on a scratch course.

    build/demo/source/<a>/       copy of the instructor's source notebook
    build/demo/release/<a>/      `nbgrader generate_assignment` (what students download)
    build/demo/submitted/<s>/<a>/ example submissions written from that release
    build/demo/gradebook.db      `nbgrader db student import`, then `nbgrader autograde`
    build/demo/grades.csv        `nbgrader export`
    build/demo/reports/<a>/      the class report (`python -m autograder report`): index.html, CSV

and prints the gradebook as a table (student, points per rubric part, total).

The grading step is one function, `grade_with_nbgrader(course, assignment)`; pass another callable
with the same signature to `main(grade=...)` to grade by another route (it must leave the scores
in course/gradebook.db). Inside `nbgrader autograde` the scoring is whatever nbgrader_config.py
configures; nothing here depends on how the score is computed.
"""

from __future__ import annotations

import csv
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..course.assignment import ROOT, Assignment, Rubric, only_assignment
from ..intake.read import grade_id
from ..routes.nbgrader_hooks.glue import run_nbgrader
from .build import MARKER

DEMO = ROOT / "build" / "demo"
Grader = Callable[[Path, str], None]  # (course root, assignment) -> scores in course/gradebook.db


@dataclass(frozen=True)
class Example:
    """One example student: the release notebook with some answer cells filled in."""

    student: str
    description: str
    answers: dict[str, str] = field(default_factory=dict)  # grade_id -> cell source
    raw: bytes | None = None  # the file's bytes instead (a submission that is not a notebook)


def solution_cells(source_nb: Path, rubric: Rubric) -> dict[str, str]:
    """The completed answer cells of the source notebook, solution markers dropped."""
    nb = json.loads(source_nb.read_text(encoding="utf-8"))
    out = {}
    for cell in nb["cells"]:
        gid = grade_id(cell)
        if gid in rubric.answer_cells:
            src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            out[gid] = "\n".join(ln for ln in src.split("\n") if not MARKER.match(ln))
    return out


def with_bug(code: str, correct: str, wrong: str) -> str:
    """Replace one correct expression by a typical mistake; loud if the source has changed."""
    if code.count(correct) != 1:
        raise ValueError(
            f"demo bug: expected {correct!r} once in the solution; update the assignment's graders/catalog/demo.py"
        )
    return code.replace(correct, wrong)


def example_submissions(assignment: Assignment) -> list[Example]:
    """The solution, the untouched release, the assignment's own examples (its
    graders/catalog/demo.py: BUGS, PARTIAL; none if it has no such module), a file that is no notebook."""
    import importlib

    sol = solution_cells(assignment.source(), assignment.rubric)
    try:
        own = importlib.import_module(f"{assignment.package}.graders.catalog.demo")
    except ModuleNotFoundError:
        own = None
    bugs = [
        Example(student, description, sol | {cell: with_bug(sol[cell], correct, wrong)})
        for student, description, cell, correct, wrong in getattr(own, "BUGS", ())
    ]
    partial = [
        Example(student, description, {k: v for k, v in sol.items() if k in cells})
        for student, description, cells in getattr(own, "PARTIAL", ())
    ]
    return [
        Example("full", "every answer cell completed (the solution)", sol),
        Example("untouched", "the release as downloaded, no code written"),
        *bugs,
        *partial,
        Example("not_a_notebook", "a file that is not a notebook (graded 0 with the reason)", raw=b"{ not json"),
    ]


def prepare_course(course: Path, rubric: Rubric) -> None:
    """A fresh scratch course: the repository's source/<a>/, released with nbgrader."""
    shutil.rmtree(course, ignore_errors=True)
    shutil.copytree(ROOT / "source" / rubric.assignment, course / "source" / rubric.assignment)
    run_nbgrader(["generate_assignment", rubric.assignment], course)


def submit(course: Path, rubric: Rubric, examples: list[Example]) -> None:
    """Register the students (one `db student import`) and write their submitted notebooks."""
    roster = course / "students.csv"
    with roster.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "first_name", "last_name", "email"])
        w.writerows([ex.student, "Demo", ex.student, ""] for ex in examples)
    run_nbgrader(["db", "student", "import", str(roster)], course)
    name = f"{rubric.notebook}.ipynb"
    release = json.loads((course / "release" / rubric.assignment / name).read_text(encoding="utf-8"))
    for ex in examples:
        nb = json.loads(json.dumps(release))
        for cell in nb["cells"]:
            if grade_id(cell) in ex.answers:
                cell["source"] = ex.answers[grade_id(cell)]
        dst = course / "submitted" / ex.student / rubric.assignment / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(ex.raw if ex.raw is not None else json.dumps(nb, ensure_ascii=False, indent=1).encode("utf-8"))


def grade_with_nbgrader(course: Path, assignment: str) -> None:
    """The grading step: real `nbgrader autograde` over every submission of the course."""
    run_nbgrader(["autograde", assignment, "--force"], course)


def class_report(course: Path, assignment: str) -> Path:
    """What the class got wrong (autograder.reports.page), beside the gradebook."""
    from ..reports.page import write_report
    from ..routes.nbgrader_hooks.glue import sqlite_url

    return write_report(sqlite_url(course), assignment, course / "reports" / assignment, progress=False)


def read_gradebook(course: Path, rubric: Rubric, students: list[str]) -> list[dict[str, float | str]]:
    """One row per student: {'student', <part name>: score, ..., 'total'}; read via nbgrader's API."""
    from nbgrader.api import Gradebook, MissingEntry  # a slow import: only here

    rows: list[dict[str, float | str]] = []
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in students:
            row: dict[str, float | str] = {"student": student}
            for part in rubric.parts.values():
                try:
                    g = gb.find_grade(part.test_cell, rubric.notebook, rubric.assignment, student)
                    row[part.name] = float(g.score)
                except MissingEntry:
                    row[part.name] = float("nan")
            row["total"] = float(gb.find_submission(rubric.assignment, student).score)
            rows.append(row)
    return rows


def format_table(rows: list[dict[str, float | str]], rubric: Rubric) -> str:
    cols = ["student", *rubric.parts, "total"]
    top: dict[str, float | str] = {
        "student": "(max)",
        **{k: p.points for k, p in rubric.parts.items()},
        "total": rubric.max_score,
    }

    def cell(v: float | str) -> str:
        return v if isinstance(v, str) else f"{v:g}"

    width = {c: max(len(c), *(len(cell(r[c])) for r in [top, *rows])) for c in cols}

    def line(r: dict[str, float | str]) -> str:
        return "  ".join(cell(r[c]).ljust(width[c]) if c == "student" else cell(r[c]).rjust(width[c]) for c in cols)

    rule = "  ".join("-" * width[c] for c in cols)
    return "\n".join([line({c: c for c in cols}), rule, line(top), rule, *map(line, rows)])


def main(
    grade: Grader = grade_with_nbgrader, course: Path = DEMO, assignment: Assignment | None = None
) -> list[dict[str, float | str]]:
    """The demo of `assignment` (by default the kit's only one)."""
    kit = assignment or only_assignment()
    rubric = kit.rubric
    a = kit.name
    examples = example_submissions(kit)
    steps: list[tuple[str, Callable[[], object]]] = [
        (f"nbgrader generate_assignment {a}", lambda: prepare_course(course, rubric)),
        (f"{len(examples)} example submissions + nbgrader db student import", lambda: submit(course, rubric, examples)),
        (f"grade: {grade.__name__}", lambda: grade(course, a)),
        ("nbgrader export", lambda: run_nbgrader(["export", f"--to={course / 'grades.csv'}"], course)),
        ("class report (python -m autograder report)", lambda: class_report(course, a)),
    ]
    print(f"demo course: {course.relative_to(ROOT) if course.is_relative_to(ROOT) else course}")
    for title, step in steps:
        t0 = time.perf_counter()
        step()
        print(f"  {title:<58} {time.perf_counter() - t0:5.1f} s")
    rows = read_gradebook(course, rubric, [ex.student for ex in examples])
    print("\nexample submissions:")
    for ex in examples:
        print(f"  {ex.student:<14} {ex.description}")
    print("\ngradebook (points per rubric part, from nbgrader's database):\n")
    print(format_table(rows, rubric))
    print(f"\nautograded notebooks: {course / 'autograded'}\nCSV export: {course / 'grades.csv'}")
    print(f"class report: {course / 'reports' / a / 'index.html'} (and its CSV files)")
    return rows
