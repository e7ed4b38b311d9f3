"""One rubric, every route: five submissions graded through nbgrader autograde, the batch, the
Gradescope runner and the CI command (`grade --json --junit`) earn the same points on every part.

The expected per-part scores are not written here: the rubric (autograder/assignments/nb74_matrix_backprop/rubric.toml) names the
parts, and each route must agree with the others part by part, with the solution at the maximum
and the release at 0 as the only fixed numbers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from junitparser import JUnitXml

from autograder.course.assignment import ROOT
from tests.bugs.catalog import BUGS
from tests.course import NB, RUBRIC, A, add_students, batch, copy_course, make_course, nbgrader, place, scores
from tests.gradescope_setup import Gradescope
from tests.submissions import RELEASE, SOLUTION, answer_source, make_submission

pytestmark = pytest.mark.slow

PARTS = list(RUBRIC.parts)
TAMPER = "\nnp.allclose = lambda *a, **k: True\n"


def five_submissions(tmp: Path) -> dict[str, Path]:
    bugs = {e.cell: e.source for e in BUGS if e.name in ("linear_dW_transposed", "mse_seed_2_over_N")}
    crash = answer_source("sigmoid").replace("y = self.cache['y']", "import os; os._exit(3)")
    return {
        "solution": SOLUTION,
        "release": RELEASE,
        "two-bugs": make_submission(tmp / "two-bugs.ipynb", bugs),
        "tamper": make_submission(tmp / "tamper.ipynb", {"linear": BUGS[0].source + TAMPER}),
        "crash": make_submission(tmp / "crash.ipynb", {"sigmoid": crash}),
    }


def by_part(tests: list[dict], key: str = "part") -> dict[str, float]:
    total = dict.fromkeys(PARTS, 0.0)
    for t in tests:
        total[t[key]] += float(t["score"])
    return {p: round(s, 6) for p, s in total.items()}


def from_gradebook(db: Path) -> dict[str, dict[str, float]]:
    cells = {p.test_cell: name for name, p in RUBRIC.parts.items()}
    return {
        student: {cells[c]: round(s, 6) for c, s in row.items() if c in cells} for student, row in scores(db).items()
    }


@pytest.fixture(scope="module")
def routes(
    tmp_path_factory: pytest.TempPathFactory, gradescope_image: Gradescope
) -> dict[str, dict[str, dict[str, float]]]:
    tmp = tmp_path_factory.mktemp("one_rubric")
    notebooks = five_submissions(tmp)
    course = make_course(tmp / "course")
    for student, nb in notebooks.items():
        place(course, student, nb)
    add_students(course, list(notebooks))
    batch_course = copy_course(course, tmp / "batch")
    out: dict[str, dict[str, dict[str, float]]] = {}

    # nbgrader autograde grades one notebook at a time: the CI command's grades run meanwhile
    with ThreadPoolExecutor(1) as pool:
        autograde = pool.submit(nbgrader, course, "autograde", A)
        out["ci"] = ci_route(notebooks, tmp)
        autograde.result()
    out["nbgrader"] = from_gradebook(course / "gradebook.db")
    batch(batch_course, "--workers", "2", "--no-feedback")
    out["batch"] = from_gradebook(batch_course / "gradebook.db")

    out["gradescope"] = {}
    for student, nb in notebooks.items():
        results = gradescope_image.submit({NB: nb})
        out["gradescope"][student] = by_part([{**t, "part": t["tags"][0]} for t in results["tests"]])
    return out


def ci_route(notebooks: dict[str, Path], tmp: Path) -> dict[str, dict[str, float]]:
    """`python -m autograder grade NB --json --junit` per submission, as the CI job runs it."""
    out = {}
    for student, nb in notebooks.items():
        results, junit = tmp / f"{student}.json", tmp / f"{student}.xml"
        subprocess.run(
            [sys.executable, "-m", "autograder", "grade", str(nb), "--json", str(results), "--junit", str(junit)],
            cwd=ROOT,
            capture_output=True,
            timeout=300,
        )
        tests = json.loads(results.read_text(encoding="utf-8"))["tests"]
        out[student] = by_part(tests)
        cases = [case for suite in JUnitXml.fromfile(str(junit)) for case in suite]
        assert [c.classname for c in cases] == [t["part"] for t in tests], student
    return out


def test_every_route_gives_every_part_the_same_points(routes) -> None:
    first = routes["nbgrader"]
    assert set(first) == {"solution", "release", "two-bugs", "tamper", "crash"}
    for route, got in routes.items():
        assert got == first, route


def test_the_invariants_hold(routes) -> None:
    maximum = {name: p.points for name, p in RUBRIC.parts.items()}
    scores = routes["nbgrader"]
    assert scores["solution"] == maximum
    assert set(scores["release"].values()) == {0.0}
    assert scores["two-bugs"]["linear"] < maximum["linear"] and scores["two-bugs"]["mse"] < maximum["mse"]
    assert scores["tamper"]["linear"] == scores["two-bugs"]["linear"]
    assert scores["crash"]["sigmoid"] < maximum["sigmoid"]
