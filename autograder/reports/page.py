"""`python -m autograder report <assignment>`: what the class got wrong, for the instructor.

Writes into --out one self-contained HTML page (pictures embedded, no network) and a CSV per
table: scores.csv (the distributions' data), diagnoses.csv (with the students concerned),
test_failures.csv and problems.csv. Everything is read from the gradebook: nbgrader's scores and
the judge's results recorded with them (autograder.reports.graded), counted by autograder.reports.tables.

The page holds the hidden graders' test names and the judge's messages: it is the instructor's,
never handed to a student (it is written outside feedback/ and release/).
"""

from __future__ import annotations

import base64
import statistics
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..course import assignment as registry
from ..course.assignment import Rubric
from ..course.files import write_atomic
from ..course.spreadsheet import write_csv as write_guarded
from . import messages as say
from .graded import Graded, load_class
from .plots import parts_figure, totals_figure
from .tables import (
    DiagnosisGroup,
    Problem,
    TestShare,
    diagnosis_groups,
    failure_shares,
    graded,
    grading_problems,
    problem_groups,
)

TEMPLATES = Path(__file__).resolve().parent / "templates" / "report"
PAGE = "index.html"


@dataclass(frozen=True)
class PartRow:
    title: str
    points: float
    mean: float
    full: int
    full_share: float


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    write_guarded(path, header, rows, excel=True)  # instructors open these in Excel: the BOM


def part_rows(cls: list[Graded], rubric: Rubric) -> list[PartRow]:
    rows = []
    for part in rubric.parts.values():
        values = [g.scores.get(part.name, 0.0) for g in cls]
        full = sum(1 for v in values if v >= part.points - 1e-9)
        n = len(values) or 1
        rows.append(PartRow(part.title, part.points, sum(values) / n, full, full / n))
    return rows


def write_tables(
    out: Path,
    cls: list[Graded],
    rubric: Rubric,
    shares: list[TestShare],
    groups: list[DiagnosisGroup],
    problems: list[Problem],
) -> list[str]:
    titles = {name: p.title for name, p in rubric.parts.items()}
    parts = list(rubric.parts.values())
    write_csv(
        out / "scores.csv",
        ["student", *[p.title for p in parts], say.TOTAL, say.HAS_RESULTS],
        [
            [
                g.student,
                *[g.scores.get(p.name, 0.0) for p in parts],
                round(g.total, 6),
                say.YES if g.results else say.NO,
            ]
            for g in cls
        ],
    )
    write_csv(
        out / "diagnoses.csv",
        say.DIAGNOSES_HEADER,
        [
            [titles.get(x.part, x.part), x.quantity, x.code, x.label, len(x.students), m, len(who), " ".join(who)]
            for x in groups
            for m, who in x.messages.items()
        ],
    )
    write_csv(
        out / "test_failures.csv",
        say.FAILURES_HEADER,
        [
            [
                titles.get(t.part, t.part),
                str(t.name),
                len(t.students),
                t.graded,
                round(t.share, 4),
                " ".join(t.students),
            ]
            for t in shares
        ],
    )
    write_csv(out / "problems.csv", say.PROBLEMS_HEADER, [[p.student, p.kind, p.reason] for p in problems])
    return ["scores.csv", "diagnoses.csv", "test_failures.csv", "problems.csv"]


def shown_database(db_url: str) -> str:
    """The gradebook's URL without a password (the page may be shared among the course's staff)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(db_url).render_as_string(hide_password=True)
    except Exception:
        return say.URL_NOT_SHOWN


def render(cls: list[Graded], kit: registry.Assignment, db_url: str, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    rubric = kit.rubric
    shares, groups, problems = failure_shares(cls, rubric), diagnosis_groups(cls, kit), grading_problems(cls)
    csv_files = write_tables(out, cls, rubric, shares, groups, problems)
    totals = [g.total for g in cls]
    by_part = [(p, [g for g in groups if g.part == name]) for name, p in rubric.parts.items()]
    context: dict[str, Any] = {
        "assignment": kit.name,
        "generated": datetime.now(timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "database": shown_database(db_url),
        "cls": cls,
        "graded": len(graded(cls)),
        "max_score": rubric.max_score,
        "mean": statistics.fmean(totals) if totals else 0.0,
        "median": statistics.median(totals) if totals else 0.0,
        "totals_png": base64.b64encode(totals_figure(cls, rubric)).decode("ascii"),
        "parts_png": base64.b64encode(parts_figure(cls, rubric)).decode("ascii"),
        "part_rows": part_rows(cls, rubric),
        "diagnosis_parts": [(p, gs) for p, gs in by_part if gs],
        "shares": shares,
        "titles": {name: p.title for name, p in rubric.parts.items()},
        "problems": problems,
        "problem_groups": problem_groups(problems),
        "csv_files": csv_files,
    }
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(default=True))
    page = out / PAGE
    write_atomic(page, env.get_template("class.html.j2").render(**context))
    return page


def write_report(db_url: str, assignment: str, out: Path, progress: bool = True) -> Path:
    """Load the class from the gradebook and write the page and its CSV files; returns the page."""
    kit = registry.assignment(assignment)
    cls = load_class(db_url, assignment, progress=progress)
    return render(cls, kit, db_url, Path(out))
