"""The judge's runtime grades alike on Python 3.10, 3.11, 3.12 and 3.13 (issue 12: Gradescope's
images have 3.10 or 3.12, not the kit's 3.11).

Each interpreter the machine has gets a venv of autograder/requirements-judge.txt only, and grades
the solution, the release and a submission with one bug per backward part; every test's score
must equal the kit's own judge's. The machine kind this runs on has all four (pyenv); in CI a
missing one is a failure, not a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import background, pythons
from tests.bugs.catalog import BUGS
from tests.submissions import RELEASE, SOLUTION, make_submission

ONE_BUG_PER_PART = ("linear_dW_transposed", "sigmoid_uses_x", "relu_mask_from_dout", "mse_seed_2_over_N")


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("pythons")
    buggy = make_submission(tmp / "buggy.ipynb", {e.cell: e.source for e in BUGS if e.name in ONE_BUG_PER_PART})
    return {"solution": SOLUTION, "release": RELEASE, "buggy": buggy}


@pytest.fixture(scope="module")
def kit_scores(notebooks: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, list]:
    tmp = tmp_path_factory.mktemp("kit")
    return {k: scores(pythons.grade(pythons.kit_python(), nb, tmp / f"{k}.json")) for k, nb in notebooks.items()}


@pytest.fixture(scope="module")
def judge_venvs() -> dict[str, Path | Exception | None]:
    """A venv per Python (tests/pythons.py), built in the background once collection asks for it."""
    return background.result("judge_venvs", pythons.judge_venvs)


def scores(results: dict) -> list:
    return [results["score"], [(t["name"], t["part"], t["score"], t["status"]) for t in results["tests"]]]


@pytest.mark.parametrize("version", pythons.VERSIONS)
def test_judge_grades_alike(
    version: str,
    notebooks: dict[str, Path],
    kit_scores: dict,
    judge_venvs: dict[str, Path | Exception | None],
    tmp_path: Path,
) -> None:
    venv_python = judge_venvs[version]
    if venv_python is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Python {version} is not on this machine (pyenv); the judge must be shown on it")
        pytest.skip(f"no Python {version} here")
    if isinstance(venv_python, Exception):
        raise venv_python
    got = {k: scores(pythons.grade(venv_python, nb, tmp_path / f"{k}.json")) for k, nb in notebooks.items()}
    assert got["solution"][0] == 100
    assert got["release"][0] == 0
    assert 0 < got["buggy"][0] < 100
    assert got == kit_scores
