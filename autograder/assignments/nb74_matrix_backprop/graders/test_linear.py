"""Linear.backward: dW = xᵀ·dout, db = Σₙ dout, dx = dout·Wᵀ.

Checked against central differences of the reference forward on a batch of one, non-square
weights, a single output, and a square layer (where a transposed gradient keeps its shape).
"""

from __future__ import annotations

from autograder.graders.cache import Case, case_cache
from autograder.graders.numerics import FD_STEP_EXACT
from autograder.graders.seeds import Seeds, case_rng

from .backward import BackwardGrader
from .suite import LayerSuite


@case_cache
def make_case(seed: int, shape: tuple[int, int, int], round_: int = 0) -> Case:
    n, d_in, d_out = shape
    rng = case_rng(seed, 100, shape, round_)
    return {
        "key": (seed, shape, round_),
        "shape": shape,
        "W": rng.standard_normal((d_in, d_out)),
        "b": rng.standard_normal(d_out),
        "x": rng.standard_normal((n, d_in)),
        "x2": rng.standard_normal((n, d_in)),
        "dout": rng.standard_normal((n, d_out)),
    }


def label(case: Case) -> str:
    n, d_in, d_out = case["shape"]
    return f"（N={n}, D_in={d_in}, D_out={d_out}）"


class TestLinear(LayerSuite):
    grader = BackwardGrader("Linear", params=("W", "b"), fd_step=FD_STEP_EXACT)  # affine in x, W, b
    shapes = [(1, 3, 2), (5, 4, 7), (8, 6, 1), (4, 3, 3)]  # (N, D_in, D_out)
    ids = [f"N{n}_Din{i}_Dout{o}" for n, i, o in shapes]
    hidden = Seeds((7411, 7412, 7413, 7414), 7415)
    property_shape = (5, 4, 3)
    make_case, label = staticmethod(make_case), staticmethod(label)
