"""The course's assignments and their rubrics: the facts every grading route shares.

An assignment is a folder of autograder/assignments/ holding a rubric.toml (its graders/ and
public/ beside it, see README, Assignments); `assignments()` lists them, `assignment(name)` finds
one. The engine holds nothing of one assignment: every route is given the Assignment it grades."""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType

if sys.version_info >= (3, 11):
    import tomllib
else:  # the judge's runtime on Python 3.10 (Gradescope's Ubuntu 22.04): the same parser, from PyPI
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENTS_DIR = ROOT / "autograder" / "assignments"
RUBRIC_FILE = "rubric.toml"  # in an assignment's folder: what makes the folder an assignment

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
def load_rubric(path: Path) -> Rubric:
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


@dataclass(frozen=True)
class Assignment:
    """One assignment: autograder/assignments/<name>/ (rubric.toml, graders/, public/) and its
    notebooks under a course root (source/, release/, solutions/<name>/; by default the kit's)."""

    name: str
    folder: Path

    @property
    def rubric_path(self) -> Path:
        return self.folder / RUBRIC_FILE

    @property
    def rubric(self) -> Rubric:
        return load_rubric(self.rubric_path)

    @property
    def notebook(self) -> str:
        """The notebook's file name without .ipynb (the rubric's `notebook`)."""
        return self.rubric.notebook

    @property
    def graders_dir(self) -> Path:
        """The hidden graders: pytest's root when the judge grades this assignment."""
        return self.folder / "graders"

    @property
    def public_dir(self) -> Path:
        """The public code of the visible checks, concatenated into the release by the build."""
        return self.folder / "public"

    @property
    def package(self) -> str:
        """The folder as a Python package: autograder.assignments.<name>."""
        return f"autograder.assignments.{self.name}"

    def public(self, module: str) -> ModuleType:
        """A module of public/ (e.g. "findings"): how the engine reaches an assignment's own code."""
        return importlib.import_module(f"{self.package}.public.{module}")

    def has_graders(self) -> bool:
        return any(self.graders_dir.glob("test_*.py"))

    def source(self, root: Path = ROOT) -> Path:
        return root / "source" / self.name / f"{self.notebook}.ipynb"

    def release(self, root: Path = ROOT) -> Path:
        return root / "release" / self.name / f"{self.notebook}.ipynb"

    def solutions(self, root: Path = ROOT) -> Path:
        return root / "solutions" / self.name

    def solution(self, root: Path = ROOT) -> Path:
        """The solution notebook (solutions/<name>/<notebook>.ipynb)."""
        return self.solutions(root) / f"{self.notebook}.ipynb"

    def reference(self, root: Path = ROOT) -> Path:
        """The reference implementation the graders compare with (solutions/<name>/reference.py)."""
        return self.solutions(root) / "reference.py"


class UnknownAssignment(ValueError):
    """A name that is no folder of autograder/assignments/ with a rubric.toml."""


@cache
def assignments(folder: Path = ASSIGNMENTS_DIR) -> tuple[Assignment, ...]:
    """Every assignment of the kit, by name: each folder of autograder/assignments/ with a rubric.toml."""
    found = sorted(p.parent for p in folder.glob(f"*/{RUBRIC_FILE}"))
    return tuple(Assignment(p.name, p) for p in found)


def names() -> list[str]:
    return [a.name for a in assignments()]


def assignment(name: str) -> Assignment:
    """The assignment called `name`; an unknown name is refused, naming the known ones."""
    for a in assignments():
        if a.name == name:
            if a.rubric.assignment != name:
                raise UnknownAssignment(
                    f"{a.rubric_path}: assignment = {a.rubric.assignment!r}, not its folder's name {name!r}"
                )
            return a
    raise UnknownAssignment(
        f"unknown assignment {name!r}: the kit has {', '.join(names()) or 'none'} (autograder/assignments/)"
    )


def only_assignment() -> Assignment:
    """The one assignment of the kit, for commands that default to it; refused when there are several."""
    every = assignments()
    if len(every) != 1:
        raise UnknownAssignment(f"name the assignment: the kit has {', '.join(names()) or 'none'}")
    return every[0]


def judged(name: str) -> bool:
    """Whether the judge grades this assignment: iff the kit has its folder and graders in it.
    Every other assignment of the course is graded by nbgrader's own preprocessors (its Execute,
    its SaveAutoGrades), as without the kit. The one place that question is answered: every route
    and nbgrader hook asks here."""
    return any(a.name == name and a.has_graders() for a in assignments())
