"""The release notebook's visible tests name the same mistake as the judge (issue 11).

The visible tests diagnose with the given cell `given_diagnosis`, generated from the judge's own
autograder/assignments/nb74_matrix_backprop/public/diagnosis.py and autograder/assignments/nb74_matrix_backprop/public/known_mistakes.py (tests/test_build_in_sync.py keeps it
so). Here every catalog bug that the numbers give away is run through the release's given code
and its own part's visible test, in this process (the release notebook is executed in a real
kernel by tests/test_release_notebook.py), and the visible test's message must name the bug's
diagnosis as the judge does (tests/test_graders_catalog.py checks the judge's side).
"""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

import pytest

from autograder.tools.build import DIAGNOSIS_CELL, diagnosis_cell_source
from tests.bugs.catalog import BUGS, DIAGNOSES, VISIBLE_SAYS
from tests.nb74 import NB74
from tests.submissions import RELEASE, SOLUTION, answer_source

# the families the visible tests' inputs can show, by what their message says
SHOWN = ("transposed", "scale", "sign", "batch_reduction", "ignores_dout", "wrong_derivative", "relu_mask")
SAYS = {family: VISIBLE_SAYS[family] for family in SHOWN}
# Not shown by the visible inputs (overflow needs |x| ~ 1000, which the visible tests do not use):
# dout @ W raises on the visible test's non-square W, and the student reads NumPy's error instead.
NOT_ON_VISIBLE_INPUTS = {"linear_dx_uses_W", "linear_dx_np_dot_W"}
VISIBLE = [
    e
    for e in BUGS
    if (w := DIAGNOSES.get(e.name))
    and (w[0] if isinstance(w, tuple) else w) in SAYS
    and e.name not in NOT_ON_VISIBLE_INPUTS
]


def cells(nb: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            src = c["source"]
            out.append(
                (c["metadata"].get("nbgrader", {}).get("grade_id", ""), "".join(src) if isinstance(src, list) else src)
            )
    return out


def visible_message(answers: dict[str, str], part: str) -> str:
    """Run the release's given cells, the answers and the part's visible test; its failure message."""
    ns: dict[str, Any] = {}
    for gid, src in cells(json.loads(RELEASE.read_text(encoding="utf-8"))):
        if gid in answers:
            src = answers[gid]
        elif not gid.startswith("given_") and gid != f"test_{part}":
            continue
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(src, gid, "exec"), ns)
        except AssertionError as exc:
            assert gid == f"test_{part}", (gid, exc)
            return str(exc)
    return ""


def solution_answers() -> dict[str, str]:
    return {
        gid: answer_source(gid)
        for gid, _ in cells(json.loads(SOLUTION.read_text(encoding="utf-8")))
        if gid in {"linear", "sigmoid", "relu", "tanh", "mse", "softmax_ce"}
    }


def test_the_release_has_the_judges_diagnosis_code():
    cell = next(
        c
        for c in json.loads(RELEASE.read_text(encoding="utf-8"))["cells"]
        if c["metadata"].get("nbgrader", {}).get("grade_id") == DIAGNOSIS_CELL
    )
    assert "".join(cell["source"]) == diagnosis_cell_source(NB74)
    assert cell["metadata"]["nbgrader"]["locked"]


def test_the_solution_passes_every_visible_test():
    answers = solution_answers()
    for part in ("linear", "sigmoid", "relu", "tanh", "mse", "softmax_ce"):
        assert visible_message(answers, part) == "", part


@pytest.mark.parametrize("entry", VISIBLE, ids=[e.name for e in VISIBLE])
def test_the_visible_test_names_the_mistake(entry):
    want = DIAGNOSES[entry.name]
    code, factor = want if isinstance(want, tuple) else (want, None)
    message = visible_message(solution_answers() | {entry.cell: entry.source}, entry.part)
    assert "見立て" in message and SAYS[code] in message, message
    if factor:
        assert f"の {factor} 倍" in message, message
