"""The committed derived files equal a fresh `python -m autograder build` (run once, into a temp dir).

Every derived file is compared byte for byte, the executed solution notebook too: the build writes
it without the run's timestamps, with its streams coalesced and the gradient checks' rounding
errors as a bound (autograder/tools/build.py: write_solution, stable_text), its kernel on one BLAS
thread. So rebuilding an unchanged tree changes no byte (`git status` stays clean), here and on a
CPU whose BLAS kernel rounds differently (test_solution_notebook_is_the_same_on_another_blas_kernel).
"""

from __future__ import annotations

import difflib
import json
import platform
from pathlib import Path

import pytest

from autograder.course.assignment import ROOT
from autograder.tools.build import build_all
from tests.nb74 import NB74

RUBRIC = NB74.rubric
A, NB = RUBRIC.assignment, f"{RUBRIC.notebook}.ipynb"
HINT = "regenerate with `python -m autograder build` and commit the result"
IGNORED = {".ipynb_checkpoints", "__pycache__"}  # nbgrader's CourseDirectory.ignore (besides *.pyc)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("build")
    build_all(NB74, out_root=out)
    return out


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not IGNORED & set(p.relative_to(folder).parts) and p.suffix != ".pyc"
    }


def first_difference(name: str, committed: bytes, fresh: bytes) -> str:
    diff = difflib.unified_diff(
        committed.decode("utf-8", "replace").splitlines(),
        fresh.decode("utf-8", "replace").splitlines(),
        f"committed/{name}",
        f"regenerated/{name}",
        lineterm="",
        n=1,
    )
    return "\n".join(list(diff)[:30])


def assert_same_bytes(committed: Path, fresh: Path) -> None:
    assert committed.is_file(), f"{committed.relative_to(ROOT)} is missing; {HINT}"
    a, b = committed.read_bytes(), fresh.read_bytes()
    assert a == b, f"{committed.relative_to(ROOT)} is stale; {HINT}\n{first_difference(committed.name, a, b)}"


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_release_tree_is_in_sync(built):
    committed, fresh = tree(ROOT / "release" / A), tree(built / "release" / A)
    assert fresh, "the build produced an empty release"
    assert sorted(committed) == sorted(fresh), f"release/{A} has other files than the build; {HINT}"
    stale = [n for n in fresh if committed[n] != fresh[n]]
    assert not stale, f"stale in release/{A}: {stale}; {HINT}\n" + first_difference(
        stale[0], committed[stale[0]], fresh[stale[0]]
    )


def test_source_notebook_points_are_in_sync_with_rubric(built):
    # the build writes the rubric's points (cell metadata and the points table) into the source
    assert_same_bytes(ROOT / "source" / A / NB, built / "source" / A / NB)


def test_reference_module_is_in_sync(built):
    assert_same_bytes(ROOT / "solutions" / A / "reference.py", built / "solutions" / A / "reference.py")


def test_solution_notebook_is_in_sync(built):
    assert_same_bytes(ROOT / "solutions" / A / NB, built / "solutions" / A / NB)


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="OpenBLAS's x86-64 kernels")
def test_solution_notebook_is_the_same_on_another_blas_kernel(built, tmp_path, monkeypatch):
    # measured before stable_text: 12 of the 14 printed relative errors changed with the kernel
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Nehalem")  # SSE only: runs on any x86-64 CPU
    build_all(NB74, out_root=tmp_path)
    here, there = (built / "solutions" / A / NB).read_bytes(), (tmp_path / "solutions" / A / NB).read_bytes()
    assert here == there, first_difference(NB, here, there)


@pytest.mark.parametrize("which", ["committed", "regenerated"])
def test_solution_notebook_ran_without_error(built, which):
    path = (ROOT if which == "committed" else built) / "solutions" / A / NB
    code = [c for c in cells(path) if c["cell_type"] == "code"]
    assert code and all(c.get("execution_count") for c in code), "solution notebook not fully executed"
    errors = [f"{o.get('ename')}: {o.get('evalue')}" for c in code for o in c["outputs"] if o["output_type"] == "error"]
    stderr = [
        "".join(o["text"])
        for c in code
        for o in c["outputs"]
        if o["output_type"] == "stream" and o.get("name") == "stderr"
    ]
    assert not errors, f"errors in the {which} solution notebook: {errors}"
    assert not stderr, f"stderr (warnings) in the {which} solution notebook: {stderr}"


def test_release_points_match_rubric():
    nb = cells(ROOT / "release" / A / NB)
    graded = {
        c["metadata"]["nbgrader"]["grade_id"]: c["metadata"]["nbgrader"].get("points")
        for c in nb
        if c.get("metadata", {}).get("nbgrader", {}).get("grade")
    }
    expected = {p.test_cell: p.points for p in RUBRIC.parts.values()}
    assert graded == expected, f"release test-cell points {graded} differ from the rubric {expected}"
    assert sum(graded.values()) == RUBRIC.max_score
    ids = [c["metadata"]["nbgrader"]["grade_id"] for c in nb if "nbgrader" in c.get("metadata", {})]
    assert len(ids) == len(set(ids)), "duplicate grade_id in the release notebook"
