"""release/ holds nothing a student must not see: no solution code, no hidden tests, no region
markers, no file of autograder/ (graders, rubric, judge) and no file of solutions/.

The checker (tests/leaks.py) walks all of release/ and derives the secrets from the repository, so
graders and answer cells added later are covered without editing this file. The planted-leak tests
prove that every kind of check can fail, for every answer cell, test cell and autograder/ file.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from autograder.course.assignment import ROOT
from tests.leaks import collect_secrets, files_under, find_leaks
from tests.nb74 import NB74

RUBRIC = NB74.rubric
SECRETS = collect_secrets()
SOURCE_NB = f"source/{RUBRIC.assignment}/{RUBRIC.notebook}.ipynb"
AUTOGRADER_FILES = [p.relative_to(ROOT).as_posix() for p in files_under(ROOT / "autograder")]
SOLUTION_FILES = [p.relative_to(ROOT).as_posix() for p in files_under(ROOT / "solutions")]


def fragments_from(origin: str, kind: str | None = None, secrets=SECRETS) -> list[str]:
    return [f for f, (k, o) in secrets.fragments.items() if o == origin and kind in (None, k)]


def cell_origin(grade_id: str) -> str:
    return f"{SOURCE_NB} cell {grade_id}"


def kinds(leaks) -> set[str]:
    return {leak.kind for leak in leaks}


@pytest.fixture
def release_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "release"
    shutil.copytree(ROOT / "release", dst)
    return dst


def edit_notebook(release: Path, edit) -> None:
    """Apply edit(cells_by_grade_id, cells) to the release notebook of a release copy."""
    path = release / RUBRIC.assignment / f"{RUBRIC.notebook}.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    by_id = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id"): c for c in nb["cells"]}
    edit(by_id, nb["cells"])
    path.write_text(json.dumps(nb, ensure_ascii=False, indent=1), encoding="utf-8")


def append_line(cell: dict, line: str) -> None:
    src = cell["source"]
    cell["source"] = ("".join(src) if isinstance(src, list) else src) + "\n" + line


# --- the real release --------------------------------------------------------------------------


def test_release_has_no_leaks():
    assert NB74.release().is_file(), "release notebook missing: run `python -m autograder build`"
    leaks = find_leaks(ROOT / "release")
    assert not leaks, "release/ leaks secrets:\n" + "\n".join(map(str, leaks))


def test_the_checker_knows_every_secret_region():
    # guards against a vacuous pass: each answer cell has solution code, each part's hidden tests
    # (its pytest grader: the source notebook holds none, tools/build.py refuses them) have lines
    for part in RUBRIC.parts.values():
        if part.answer_cell:
            assert fragments_from(cell_origin(part.answer_cell), "solution"), part.answer_cell
        assert fragments_from((NB74.graders_dir / f"test_{part.name}.py").relative_to(ROOT).as_posix()), part.name
    assert "rubric.toml" in SECRETS.autograder_names
    assert any(o.startswith("autograder/") for _, o in SECRETS.fragments.values())


# --- each check can fail: plant a leak in a copy of release/ -----------------------------------


@pytest.mark.parametrize("answer_cell", RUBRIC.answer_cells)
def test_planted_solution_line_is_found(release_copy, answer_cell):
    line = "    " + fragments_from(cell_origin(answer_cell), "solution")[0] + "   "  # reindented
    edit_notebook(release_copy, lambda by_id, _: append_line(by_id[answer_cell], line))
    assert "solution" in kinds(find_leaks(release_copy))


@pytest.mark.parametrize(
    "marker", ["### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"]
)
def test_planted_marker_is_found(release_copy, marker):
    edit_notebook(release_copy, lambda _, cells: append_line(cells[0], marker))
    assert [leak.detail for leak in find_leaks(release_copy) if leak.kind == "marker"] == [marker.strip("# ")]


@pytest.mark.parametrize("rel", AUTOGRADER_FILES)
def test_planted_autograder_file_is_found_by_name(release_copy, rel):
    shutil.copy(ROOT / rel, release_copy / RUBRIC.assignment / Path(rel).name)
    assert "autograder-name" in kinds(find_leaks(release_copy))


@pytest.mark.parametrize("rel", [r for r in AUTOGRADER_FILES if fragments_from(r)])
def test_planted_autograder_line_is_found(release_copy, rel):
    secrets = collect_secrets()  # afresh if a grader file was edited while the suite runs
    line = fragments_from(rel, secrets=secrets)[-1]
    edit_notebook(release_copy, lambda _, cells: append_line(cells[-1], line))
    assert "autograder-content" in kinds(find_leaks(release_copy, secrets=secrets))


@pytest.mark.parametrize("rel", [r for r in AUTOGRADER_FILES if (ROOT / r).stat().st_size])
def test_renamed_autograder_file_is_found(release_copy, rel):
    secrets = collect_secrets()
    shutil.copy(ROOT / rel, release_copy / RUBRIC.assignment / "notes.txt")
    assert "copy" in kinds(find_leaks(release_copy, secrets=secrets))


@pytest.mark.parametrize("rel", SOLUTION_FILES)
def test_planted_solutions_file_is_found(release_copy, rel):
    # same name (the notebook's name is also the student's notebook: a copy is still found)
    shutil.copy(ROOT / rel, release_copy / RUBRIC.assignment / Path(rel).name)
    leaks = find_leaks(release_copy)
    assert "copy" in kinds(leaks) and kinds(leaks) & {"solution", "solutions-content"}
    # and under another name, in a folder nbgrader would not even release
    shutil.rmtree(release_copy)
    shutil.copytree(ROOT / "release", release_copy)
    hidden = release_copy / RUBRIC.assignment / ".ipynb_checkpoints" / ("x" + Path(rel).suffix)
    hidden.parent.mkdir()
    shutil.copy(ROOT / rel, hidden)
    assert {leak.file for leak in find_leaks(release_copy)} == {hidden.relative_to(release_copy).as_posix()}


def test_planted_reference_module_is_found_by_name(release_copy):
    (release_copy / RUBRIC.assignment / "reference.py").write_text("# empty\n", encoding="utf-8")
    assert kinds(find_leaks(release_copy)) == {"solutions-name"}
