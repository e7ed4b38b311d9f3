"""Where things are, and the rubric: the facts every grading route shares."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # the judge's runtime on Python 3.10 (Gradescope's Ubuntu 22.04): the same parser, from PyPI
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
RUBRIC_PATH = Path(__file__).resolve().parent / "rubric.toml"

# Code cells whose grade_id starts with this prefix are trusted given code: the judge takes them
# from source/, never from the student's copy.
GIVEN_PREFIX = "given_"


@dataclass(frozen=True)
class Part:
    """One graded piece: the student's answer cell, its nbgrader test cell, its hidden tests."""

    name: str
    kind: str
    title: str
    section: str
    answer_cell: str
    test_cell: str
    tests: dict[str, float] = field(default_factory=dict)
    visibility: str = ""  # Gradescope: who sees this part's tests; "" = the rubric's default

    @property
    def points(self) -> float:
        return float(sum(self.tests.values()))

    @property
    def class_name(self) -> str:
        """The class a backward part grades: its title is "<class>.backward"."""
        return self.title.split(".", 1)[0]


@dataclass(frozen=True)
class Rubric:
    assignment: str
    notebook: str
    parts: dict[str, Part]
    visibility: str = "visible"  # Gradescope's default for every test ([gradescope] in rubric.toml)

    def part_visibility(self, part: str) -> str:
        return self.parts[part].visibility or self.visibility

    @property
    def max_score(self) -> float:
        return float(sum(p.points for p in self.parts.values()))

    def part_for_test_cell(self, grade_id: str) -> Part | None:
        return next((p for p in self.parts.values() if p.test_cell == grade_id), None)

    @property
    def answer_cells(self) -> list[str]:
        return [p.answer_cell for p in self.parts.values() if p.answer_cell]


@cache
def load_rubric(path: Path = RUBRIC_PATH) -> Rubric:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    parts = {
        name: Part(
            name=name,
            kind=p["kind"],
            title=p["title"],
            section=p["section"],
            answer_cell=p["answer_cell"],
            test_cell=p["test_cell"],
            tests={k: float(v) for k, v in p["tests"].items()},
            visibility=_visibility(p.get("visibility", ""), f"parts.{name}", allow_default=True),
        )
        for name, p in data["parts"].items()
    }
    for part in parts.values():  # a test with no points would count 0, silently: refused here
        for test, points in part.tests.items():
            if not points > 0:
                raise ValueError(
                    f"rubric.toml [parts.{part.name}.tests] {test} = {points:g}: every test needs points > 0"
                )
    default = _visibility(data.get("gradescope", {}).get("visibility", "visible"), "gradescope")
    return Rubric(assignment=data["assignment"], notebook=data["notebook"], parts=parts, visibility=default)


VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")  # Gradescope's values


def _visibility(value: str, where: str, allow_default: bool = False) -> str:
    if value in VISIBILITIES or (allow_default and value == ""):
        return value
    raise ValueError(f"rubric.toml [{where}] visibility = {value!r}: one of {', '.join(VISIBILITIES)}")


GRADERS_DIR = ROOT / "autograder" / "graders"


def judged(assignment: str) -> bool:
    """Whether the judge grades this assignment: iff the kit has graders for it (today the rubric's
    assignment, graded by autograder/graders/). Every other assignment of the course is graded by
    nbgrader's own preprocessors (its Execute, its SaveAutoGrades), as without the kit. The one
    place that question is answered: every route and nbgrader hook asks here."""
    return assignment == load_rubric().assignment and any(GRADERS_DIR.glob("test_*.py"))


def source_notebook(root: Path = ROOT) -> Path:
    r = load_rubric()
    return root / "source" / r.assignment / f"{r.notebook}.ipynb"


def release_notebook(root: Path = ROOT) -> Path:
    r = load_rubric()
    return root / "release" / r.assignment / f"{r.notebook}.ipynb"


def solutions_dir(root: Path = ROOT) -> Path:
    return root / "solutions" / load_rubric().assignment


def reference_module_path(root: Path = ROOT) -> Path:
    return solutions_dir(root) / "reference.py"
