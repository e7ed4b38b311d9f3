"""The canonical notebook's release restoration (autograder.intake.canonical) against nbgrader's own OverwriteCells.

The canonical notebook is the kit's one copy of the restoration because nbgrader's needs the gradebook (the batch's
Dask workers and the Gradescope container have none) and trusts the student's `grade`/`solution`
flags. Here both run on the same tampered submissions, nbgrader's with a real gradebook built by its
own SaveCells from the release: after the intake, OverwriteCells finds nothing to change, so wherever
nbgrader restores a cell, the kit restores it the same way; where nbgrader gives up on the whole
notebook, the kit restores the cell (the last test)."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable
from typing import Any

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.preprocessors import OverwriteCells, SaveCells

from autograder.intake.canonical import canonical
from autograder.intake.read import release_skeleton
from autograder.intake.skeleton import text
from autograder.routes.nbgrader_hooks.glue import use_nbgrader_env
from tests.nb74 import NB74
from tests.submissions import RELEASE, SOLUTION

Notebook = dict[str, Any]


def cell(nb: Notebook, gid: str) -> dict[str, Any]:
    return next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == gid)


def forge_points(nb: Notebook) -> None:
    for c in nb["cells"]:
        if c["metadata"].get("nbgrader", {}).get("grade"):
            c["metadata"]["nbgrader"]["points"] = 100.0


def replace_test(nb: Notebook) -> None:
    cell(nb, "test_linear")["source"] = "pass\n"


def unlock_given(nb: Notebook) -> None:
    c = cell(nb, "given_checks")
    c["metadata"]["nbgrader"]["locked"] = False
    c["source"] = "def check(*a, **k):\n    return True\n"


def reflag_as_answer(nb: Notebook) -> None:
    meta = cell(nb, "test_relu")["metadata"]["nbgrader"]
    meta.update(grade=False, solution=True, locked=False)
    cell(nb, "test_relu")["source"] = "pass\n"


def reflag_as_markdown(nb: Notebook) -> None:
    c = cell(nb, "test_mse")
    c["cell_type"] = "markdown"
    c.pop("outputs", None)
    c.pop("execution_count", None)


def duplicate_test(nb: Notebook) -> None:
    nb["cells"].append(copy.deepcopy(cell(nb, "test_tanh")) | {"id": "copy-of-test-tanh"})


def unknown_id(nb: Notebook) -> None:
    c = copy.deepcopy(cell(nb, "test_sigmoid"))
    c["metadata"]["nbgrader"].update(grade_id="test_bonus", points=50.0)
    c["id"] = "bonus"
    nb["cells"].append(c)


TAMPERINGS: dict[str, Callable[[Notebook], None]] = {
    f.__name__: f
    for f in (
        forge_points,
        replace_test,
        unlock_given,
        reflag_as_answer,
        reflag_as_markdown,
        duplicate_test,
        unknown_id,
    )
}


@pytest.fixture(scope="module")
def gradebook(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A gradebook holding the release's cells, written by nbgrader's SaveCells."""
    use_nbgrader_env()
    db = f"sqlite:///{tmp_path_factory.mktemp('gb') / 'gradebook.db'}"
    with Gradebook(db) as gb:
        gb.add_assignment("nb74")
    resources = {"nbgrader": {"notebook": RELEASE.stem, "assignment": "nb74", "db_url": db}}
    SaveCells().preprocess(nbformat.read(str(RELEASE), as_version=4), copy.deepcopy(resources))
    return resources


def overwrite(nb: Notebook, resources: dict[str, Any]) -> tuple[str, list[str]]:
    """nbgrader's OverwriteCells on nb; its result as JSON and the changes it reported."""
    node = nbformat.reads(json.dumps(nb), as_version=4)
    pre = OverwriteCells()
    changes: list[str] = []

    class Recorder(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            changes.append(record.getMessage())

    pre.log.addHandler(recorder := Recorder(logging.WARNING))
    try:
        node, _ = pre.preprocess(node, copy.deepcopy(resources))
    finally:
        pre.log.removeHandler(recorder)
    return json.dumps(node, sort_keys=True), changes


def as_read(nb: Notebook) -> str:
    return json.dumps(nbformat.reads(json.dumps(nb), as_version=4), sort_keys=True)


@pytest.mark.parametrize("tamper", list(TAMPERINGS))
def test_nbgrader_finds_nothing_to_restore_after_the_intake(gradebook: dict[str, Any], tamper: str) -> None:
    nb = json.loads(SOLUTION.read_text(encoding="utf-8"))
    TAMPERINGS[tamper](nb)
    if tamper in {"forge_points", "replace_test", "unlock_given"}:  # a tampering nbgrader itself restores
        assert overwrite(copy.deepcopy(nb), gradebook)[1], "nbgrader must report it, or nothing is compared"
    nb = canonical(nb, release_skeleton(NB74))[0]
    after, changes = overwrite(nb, gradebook)
    assert changes == [], changes
    assert after == as_read(nb)


def test_the_intake_restores_what_nbgrader_cannot(gradebook: dict[str, Any]) -> None:
    """A test cell re-flagged as an answer cell: nbgrader reads `grade` and `solution` from the
    student's cell, and its checksum check then stops the whole submission; the intake puts back
    the release's flags and source."""
    nb = json.loads(SOLUTION.read_text(encoding="utf-8"))
    reflag_as_answer(nb)
    with pytest.raises(RuntimeError, match="Inconsistent checksums for cell test_relu"):
        overwrite(copy.deepcopy(nb), gradebook)
    nb = canonical(nb, release_skeleton(NB74))[0]
    flags = cell(nb, "test_relu")["metadata"]["nbgrader"]
    assert (flags["grade"], flags["solution"], flags["points"]) == (True, False, 10.0)
    assert cell(nb, "test_relu")["source"] == text(
        cell(json.loads(RELEASE.read_text(encoding="utf-8")), "test_relu")["source"]
    )
