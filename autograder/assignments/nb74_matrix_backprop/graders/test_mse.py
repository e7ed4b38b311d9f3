"""MSELoss.backward: dL/dy = 2(y − t)/(N·D), the loss being the mean over all N·D entries.

Checked against central differences of the reference forward; shapes with D > 1 and with N = 1
tell 2/(N·D) apart from 2/N and from 2/D.
"""

from __future__ import annotations

from autograder.graders.cache import Case, case_cache
from autograder.graders.numerics import FD_STEP_EXACT
from autograder.graders.seeds import Seeds, case_rng

from .backward import BackwardGrader
from .suite import LossSuite


@case_cache
def make_case(seed: int, shape: tuple[int, int], round_: int = 0) -> Case:
    rng = case_rng(seed, 500, shape, round_)
    return {
        "key": (seed, shape, round_),
        "y": rng.standard_normal(shape),
        "t": rng.standard_normal(shape),
        "y2": rng.standard_normal(shape),
        "t2": rng.standard_normal(shape),
    }


def label(case: Case) -> str:
    n, d = case["y"].shape
    return f"（N={n}, D={d}）"


class TestMSELoss(LossSuite):
    grader = BackwardGrader("MSELoss", loss=True, result_name="dL/dy", fd_step=FD_STEP_EXACT)  # quadratic in y
    shapes = [(1, 3), (4, 1), (5, 3), (3, 4)]  # (N, D)
    ids = [f"N{n}_D{d}" for n, d in shapes]
    hidden = Seeds((5111, 5112, 5113, 5114), 5115)
    property_shape = (4, 2)
    make_case, label = staticmethod(make_case), staticmethod(label)
