"""Issue 22, finding 12: the feedback's pictures are drawn from a student process that never saw a
hidden input. A submission that stashes the W of every backward call in the sandbox's /tmp and
returns the stash as its gradients showed its own hidden W in the picture (a later fork of the same
zygote shares /tmp); the pictures now come from a new student process given the same cells."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.course.secret import ENV_SECRET
from autograder.sandbox.fork_server import ForkServer
from tests.bugs.catalog import with_backward
from tests.judged import grade_notebook
from tests.submissions import make_submission

STASHING_LINEAR = with_backward(
    "linear",
    r"""
def backward(self, dout):
    import os
    x, W = self.cache['x'], self.params['W']
    if os.path.exists('/tmp/stash.npy'):
        stash = np.load('/tmp/stash.npy')
    else:
        stash = None
    np.save('/tmp/stash.npy', W)
    self.grads['W'] = stash if stash is not None else 2 * (x.T @ dout)  # wrong by 2: diagnosed
    self.grads['b'] = np.sum(dout, axis=0)
    return dout @ W.T
""",
)


@pytest.fixture(autouse=True)
def course_secret(monkeypatch):
    monkeypatch.setenv(ENV_SECRET, "51c7" * 16)


@pytest.mark.parametrize("route", ["one-shot", "fork-server"])  # the CLI and Gradescope; the batch's workers
def test_pictures_show_no_hidden_value_a_part_child_stashed(tmp_path, route):
    from tests.judge_inputs import linear_inputs

    nb = make_submission(tmp_path / "stash.ipynb", {"linear": STASHING_LINEAR})
    if route == "fork-server":
        with ForkServer() as server:
            grade_notebook(make_submission(tmp_path / "before.ipynb"), server=server)  # an earlier student
            results = grade_notebook(nb, server=server)
    else:
        results = grade_notebook(nb)
    pictures = [p for p in results.get("pictures", []) if p["part"] == "linear"]
    assert pictures, results.get("pictures")  # a picture is drawn (from the fresh process)
    hidden = {round(abs(float(v)), 9) for case in linear_inputs(nb) for v in np.ravel(case["W"])}
    shown = {round(abs(float(v)), 9) for p in pictures for v in np.ravel(p["got"])}
    assert not (hidden & shown) - {0.0}, sorted((hidden & shown) - {0.0})[:5]
