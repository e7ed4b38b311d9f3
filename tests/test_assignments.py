"""The registry of assignments (autograder/course/assignment.py) and how `grade` tells which
assignment a notebook is (autograder/intake/which.py), without a sandbox."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.course.assignment import (
    ASSIGNMENTS_DIR,
    ROOT,
    UnknownAssignment,
    assignment,
    assignments,
    judged,
    only_assignment,
)
from autograder.course.exit_codes import EXIT_USAGE
from autograder.intake.which import assignment_of, best_matches, graded_cells
from autograder.judge import messages as say
from tests.nb74 import NB74


def test_every_folder_with_a_rubric_is_an_assignment() -> None:
    found = {a.name for a in assignments()}
    assert found == {p.parent.name for p in ASSIGNMENTS_DIR.glob("*/rubric.toml")} and NB74.name in found
    assert NB74.rubric.assignment == NB74.name and NB74.folder == ASSIGNMENTS_DIR / NB74.name


def test_an_assignments_paths() -> None:
    assert NB74.graders_dir == NB74.folder / "graders" and NB74.public_dir == NB74.folder / "public"
    assert NB74.source() == ROOT / "source" / NB74.name / "matrix_backprop.ipynb"
    assert NB74.release(Path("/course")) == Path("/course/release") / NB74.name / "matrix_backprop.ipynb"
    assert NB74.reference() == ROOT / "solutions" / NB74.name / "reference.py"
    assert NB74.public("findings").__name__ == f"{NB74.package}.public.findings"


def test_an_unknown_assignment_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(UnknownAssignment, match=NB74.name):
        assignment("nb99_nothing")
    assert judged(NB74.name) and not judged("nb99_nothing") and not judged("nb75_training_loop")


def test_a_folder_without_a_rubric_is_no_assignment(tmp_path: Path) -> None:
    shutil.copytree(NB74.folder, tmp_path / "nb74_copy", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "notes").mkdir()
    assert [a.name for a in assignments(tmp_path)] == ["nb74_copy"]


def test_with_one_assignment_the_commands_default_to_it() -> None:
    if len(assignments()) == 1:
        assert only_assignment() == NB74


def test_a_notebook_is_told_by_its_name_then_its_cells(tmp_path: Path) -> None:
    named = tmp_path / "matrix_backprop.ipynb"
    named.write_text("not even JSON", encoding="utf-8")
    assert assignment_of(named, assignments()) == [NB74]
    other = tmp_path / "hw.ipynb"
    shutil.copyfile(NB74.release(), other)
    assert assignment_of(other, assignments()) == [NB74]
    release = json.loads(NB74.release().read_text(encoding="utf-8"))
    assert graded_cells(release, NB74) == len(NB74.rubric.parts)
    assert best_matches(release, (NB74,)) == [NB74]
    lost = {**release, "cells": [{**c, "metadata": {}} for c in release["cells"]]}  # metadata lost
    assert best_matches(lost, (NB74,)) == []  # the release's stubs answer nothing
    solution = json.loads(NB74.solution().read_text(encoding="utf-8"))
    answered = {**solution, "cells": [{**c, "metadata": {}} for c in solution["cells"]]}
    assert best_matches(answered, (NB74,)) == [NB74]  # its answers, laid on the release by content
    assert best_matches({"cells": []}, (NB74,)) == []


def test_of_several_assignments_a_tie_is_no_answer(tmp_path: Path) -> None:
    """Two assignments alike (a copy of Notebook 74 under another name): the file's name decides;
    a file named otherwise matches both equally, and `grade` asks for --assignment."""
    from dataclasses import replace

    twin = replace(NB74, name="nb74_twin")
    named = tmp_path / "matrix_backprop.ipynb"  # both notebooks are named so: no decision by name
    shutil.copyfile(NB74.release(), named)
    assert assignment_of(named, (NB74, twin)) == [NB74, twin]
    other = tmp_path / "hw.ipynb"
    other.write_text("{}", encoding="utf-8")
    assert assignment_of(other, (NB74, twin)) == []


def test_grade_refuses_an_unknown_assignment_in_japanese(tmp_path: Path) -> None:
    nb = tmp_path / "x.ipynb"
    shutil.copyfile(NB74.release(), nb)
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(nb), "--assignment", "nb99_nothing"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == EXIT_USAGE
    assert done.stderr.strip() == say.unknown_assignment("nb99_nothing", [a.name for a in assignments()])
    assert "--assignment" in say.which_assignment("x.ipynb", [], ["a", "b"])
    assert "a、b" in say.which_assignment("x.ipynb", ["a", "b"], ["a", "b", "c"])
