"""The feedback's pictures: numbers on the visible test's public inputs only, drawn into the
notebook as PNG outputs that survive the feedback's sanitizer, and nothing else does."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from autograder.feedback.sanitize import judge_picture, sanitize_notebook, trusted_texts
from autograder.judge.grade import grade, source_cells
from autograder.judge.pictures import graded_cell_sources, public_case
from autograder.routes.nbgrader_hooks.preprocessors.judge_scores import apply_results
from tests.bugs.catalog import BUGS
from tests.nb74 import NB74
from tests.submissions import make_submission

RUBRIC = NB74.rubric
BY_NAME = {e.name: e for e in BUGS}
BUGGY = ("linear_dW_transposed", "mse_seed_2_over_N")


@pytest.fixture(scope="module")
def buggy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    path = make_submission(
        tmp_path_factory.mktemp("pictures") / "s.ipynb", {BY_NAME[b].cell: BY_NAME[b].source for b in BUGGY}
    )
    return path, grade(path, NB74)


def test_the_public_case_is_the_visible_tests_first_check():
    """The visible Linear test is check_linear(Linear, shapes=[(4, 3, 2)], seed=0): its first draws."""
    case = public_case(NB74, "Linear", graded_cell_sources(source_cells(NB74))["test_linear"])
    assert case is not None and case.args == (3, 2)
    rng = np.random.default_rng(0)  # check_linear's order: W, b, x, dout
    W, b, x, dout = (
        rng.standard_normal((3, 2)),
        rng.standard_normal(2),
        rng.standard_normal((4, 3)),
        rng.standard_normal((4, 2)),
    )
    assert np.array_equal(case.params["W"], W) and np.array_equal(case.params["b"], b)
    assert np.array_equal(case.inputs[0], x) and np.array_equal(case.douts[0], dout)


def test_a_diagnosed_part_gets_its_gradients_on_the_public_inputs(buggy):
    _, results = buggy
    by = {(p.part, p.quantity): p for p in results.pictures}
    assert set(by) == {("linear", "dW"), ("mse", "dL/dy")}
    got, want = np.array(by["linear", "dW"].got), np.array(by["linear", "dW"].expected)
    assert got.shape == (2, 3) and want.shape == (3, 2) and np.allclose(got, want.T)
    assert np.allclose(np.array(by["mse", "dL/dy"].got), 3 * np.array(by["mse", "dL/dy"].expected))  # D = 3


def test_a_correct_submission_has_no_pictures(tmp_path):
    assert grade(make_submission(tmp_path / "s.ipynb", {}), NB74).pictures == ()


def test_the_pictures_reach_the_feedback_notebook_as_pngs(buggy):
    path, results = buggy
    nb = json.loads(path.read_text(encoding="utf-8"))
    apply_results(nb, results, NB74)
    pngs = {
        c["metadata"]["nbgrader"]["grade_id"]: [o for o in c["outputs"] if o["output_type"] == "display_data"]
        for c in nb["cells"]
        if c["cell_type"] == "code" and c["metadata"].get("nbgrader", {}).get("grade", False)
    }
    assert [len(pngs[p.test_cell]) for p in RUBRIC.parts.values()] == [1, 0, 0, 0, 1, 0, 0, 0, 0]
    sanitize_notebook(
        nb, keep_text_outputs=True, trusted=trusted_texts(NB74)
    )  # the feedback's second sanitizing keeps them
    kept = [
        o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"] if o["output_type"] == "display_data"
    ]
    assert len(kept) == 2 and all(base64.b64decode(o["data"]["image/png"]).startswith(b"\x89PNG") for o in kept)


@pytest.mark.parametrize(
    "data",
    [
        {"image/png": base64.b64encode(b"<svg onload=alert(1)>").decode(), "text/plain": "x"},  # not a PNG
        {"image/png": "not base64!", "text/plain": "x"},
        {"image/png": base64.b64encode(b"\x89PNG\r\n\x1a\n").decode(), "text/html": "<script>", "text/plain": "x"},
        {"image/svg+xml": "<svg/>", "text/plain": "x"},
        {"image/png": base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"0" * 300_000).decode(), "text/plain": "x"},
    ],
    ids=["svg-as-png", "not-base64", "extra-html", "svg", "too-big"],
)
def test_any_other_picture_output_is_dropped(data):
    assert not judge_picture({"output_type": "display_data", "data": data})
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "source": "",
                "outputs": [{"output_type": "display_data", "data": data, "metadata": {}}],
            }
        ],
        "metadata": {},
    }
    sanitize_notebook(nb, keep_text_outputs=True, trusted=trusted_texts(NB74))
    assert nb["cells"][0]["outputs"] == []
