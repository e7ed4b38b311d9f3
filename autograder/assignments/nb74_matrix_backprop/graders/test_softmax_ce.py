"""SoftmaxCrossEntropy.backward: dL/dx = (p − t)/N, with p = softmax(x) cached by forward.

For class-index and one-hot targets, and logits of magnitude 1000. Moderate logits: central
differences of the reference forward. Logits of magnitude 1000: the loss is of order 1000, and a
difference of it loses about eps·1000/h of the gradient — measured up to 9.8e-7 relative (200
seeds), a tenth of FD_TOL, where moderate inputs stay below 1e-8 — so there the expected value is
the reference's analytic gradient (p − t)/N, compared to rounding (EXACT_TOL), and the student's
loss is compared with the reference's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from autograder.graders.cache import Case, case_cache
from autograder.graders.numerics import EXACT_TOL
from autograder.graders.seeds import Seeds, case_rng
from autograder.sandbox.part_session import PartSession

from . import messages as say
from .backward import BackwardGrader
from .suite import LossSuite

ONEHOT_SHAPES = [(4, 3), (2, 5)]


@case_cache
def make_case(seed: int, shape: tuple[int, int], round_: int = 0, onehot: bool = False) -> Case:
    """Logits 2·N(0, 1); targets as class indices (int64, shape (N,)) or one-hot (N, C)."""
    n, c = shape
    rng = case_rng(seed, 600, shape, round_, variant=int(onehot))
    labels, labels2 = rng.integers(0, c, n), rng.integers(0, c, n)
    t, t2 = (np.eye(c)[labels], np.eye(c)[labels2]) if onehot else (labels, labels2)
    return {
        "key": (seed, shape, round_, onehot),
        "onehot": onehot,
        "y": 2.0 * rng.standard_normal(shape),
        "t": t,
        "y2": 2.0 * rng.standard_normal(shape),
        "t2": t2,
    }


@case_cache
def make_large_case(seed: int) -> Case:
    """Logits ±1000 plus N(0, 1) (several classes of a row compete), class-index targets."""
    rng = case_rng(seed, 690)
    n, c = 5, 4
    y = rng.choice([-1000.0, 1000.0], (n, c)) + rng.standard_normal((n, c))
    t = rng.integers(0, c, n)
    y[0] = [1000.0, -1000.0, 1000.0, 999.0]  # ties and a near-tie at 1000
    y[1], t[1] = [-1000.0, 1000.0, 1000.0, -1000.0], 0  # the target's p underflows to 0
    return {"key": (seed, "large"), "y": y, "t": t}


def label(case: Case) -> str:
    n, c = case["y"].shape
    return say.logits_label(n, c, bool(case.get("onehot")))


def large_label(case: Case) -> str:
    n, c = case["y"].shape
    return say.large_logits_label(n, c)


class TestSoftmaxCrossEntropy(LossSuite):
    grader = BackwardGrader("SoftmaxCrossEntropy", loss=True, result_name="dL/dx")
    shapes = [(1, 3), (4, 3), (5, 2), (3, 5)]  # (N, C)
    ids = [f"N{n}_C{c}" for n, c in shapes]
    hidden = Seeds((5211, 5212, 5213, 5214), 5215)
    property_shape = (4, 3)
    make_case, label = staticmethod(make_case), staticmethod(label)

    @pytest.mark.parametrize("shape", ONEHOT_SHAPES, ids=[f"N{n}_C{c}" for n, c in ONEHOT_SHAPES])
    def test_onehot_targets(self, student: PartSession, reference: Any, seeds: Seeds, shape: tuple[int, int]) -> None:
        case = make_case(seeds.per_shape[0], shape, onehot=True)
        self.grader.check_values(student, reference, [case], label)

    def test_large_logits(self, student: PartSession, reference: Any, seeds: Seeds) -> None:
        def analytic(case: Case) -> dict[str, np.ndarray]:
            ref = reference.SoftmaxCrossEntropy()
            ref.forward(case["y"], case["t"])
            return {self.grader.result_name: ref.backward()}

        case = make_large_case(seeds.special)
        self.grader.check_values(student, reference, [case], large_label, expected=analytic, tol=EXACT_TOL)
