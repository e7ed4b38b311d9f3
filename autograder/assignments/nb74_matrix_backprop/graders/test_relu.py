"""ReLU.backward: dx = dout · 1[x > 0], with the mask cached by forward.

No input is closer to 0 than 100 difference steps (|x| ≥ 1e-4 > FD_STEP = 1e-6), so every
difference stays on one linear piece and is exact up to rounding; x = 0 itself is never used
(any subgradient there is accepted: masks x > 0 and x >= 0 are both correct).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.graders.cache import Case, case_cache
from autograder.graders.numerics import away_from_zero
from autograder.graders.seeds import Seeds, case_rng
from autograder.sandbox.part_session import PartSession

from . import messages as say
from .backward import BackwardGrader
from .suite import LayerSuite, input_shape_label

KINK_MIN, KINK_MAX = 1e-4, 1e-2  # |x| of the near-kink inputs


@case_cache
def make_case(seed: int, shape: tuple[int, int], round_: int = 0) -> Case:
    """x and dout; x2 (the second forward of the property round) has the opposite sign of x
    everywhere, so a backward that uses a stale mask is wrong on every entry."""
    rng = case_rng(seed, 300, shape, round_)
    x = away_from_zero(rng.standard_normal(shape), 1e-3)
    x2 = -np.sign(x) * away_from_zero(np.abs(rng.standard_normal(shape)), 1e-3)
    return {"key": (seed, shape, round_), "x": x, "x2": x2, "dout": rng.standard_normal(shape)}


@case_cache
def make_kink_case(seed: int) -> Case:
    """Every |x| in [1e-4, 1e-2] (log-uniform), ten of each sign."""
    rng = case_rng(seed, 390)
    shape = (4, 5)
    sign = rng.permutation(np.repeat([-1.0, 1.0], 10)).reshape(shape)
    x = sign * 10.0 ** rng.uniform(np.log10(KINK_MIN), np.log10(KINK_MAX), shape)
    return {"key": (seed, "kink"), "x": x, "dout": rng.standard_normal(shape)}


def kink_label(case: Case) -> str:
    return say.kink_label(KINK_MIN, KINK_MAX, case["x"].shape)


class TestReLU(LayerSuite):
    grader = BackwardGrader("ReLU")
    shapes = [(1, 4), (3, 5), (6, 2), (4, 4)]
    ids = [f"{n}x{d}" for n, d in shapes]
    hidden = Seeds((4211, 4212, 4213, 4214), 4215)
    property_shape = (4, 3)
    make_case, label = staticmethod(make_case), staticmethod(input_shape_label)

    def test_near_kink(self, student: PartSession, reference: Any, seeds: Seeds) -> None:
        self.grader.check_values(student, reference, [make_kink_case(seeds.special)], kink_label)
