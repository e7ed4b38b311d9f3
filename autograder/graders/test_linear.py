"""Linear.backward: dx, grads['W'], grads['b'] against central differences of the reference forward.

Inputs come from hidden seeds (the visible test uses other values): a batch of one, non-square
weights, a single output, and a square layer (where a transposed gradient keeps its shape).
"""

from __future__ import annotations

import pytest

from .backward import BackwardGrader
from .cache import case_cache
from .numerics import FD_STEP_EXACT
from .session import seeded

GRADER = BackwardGrader("Linear", params=("W", "b"), fd_step=FD_STEP_EXACT)  # affine in x, W, b
SHAPES = [(1, 3, 2), (5, 4, 7), (8, 6, 1), (4, 3, 3)]  # (N, D_in, D_out)
IDS = [f"N{n}_Din{i}_Dout{o}" for n, i, o in SHAPES]
SEEDS = (7411, 7412, 7413, 7414)  # one per shape
SEED = 7415  # the property round
PROPERTY_SHAPE = (5, 4, 3)


@case_cache
def make_case(seed: int, shape: tuple[int, int, int], salt: int = 0) -> dict:
    n, d_in, d_out = shape
    rng = seeded(seed, 100 + salt * 1000 + n * 100 + d_in * 10 + d_out)
    return {
        "key": (seed, shape, salt),
        "shape": shape,
        "W": rng.standard_normal((d_in, d_out)),
        "b": rng.standard_normal(d_out),
        "x": rng.standard_normal((n, d_in)),
        "x2": rng.standard_normal((n, d_in)),
        "dout": rng.standard_normal((n, d_out)),
    }


def label(case: dict) -> str:
    n, d_in, d_out = case["shape"]
    return f"（N={n}, D_in={d_in}, D_out={d_out}）"


def cases(seeds=SEEDS) -> list[dict]:
    return [make_case(seed, shape) for seed, shape in zip(seeds, SHAPES)]


def property_case(seed: int) -> dict:
    return make_case(seed, PROPERTY_SHAPE, salt=1)


def test_gradient_shapes(student, seeds=SEEDS):
    GRADER.check_shapes(student, cases(seeds), label)


@pytest.mark.parametrize("k", range(len(SHAPES)), ids=IDS)
def test_gradients(student, reference, k, seeds=SEEDS):
    GRADER.check_values(student, reference, [cases(seeds)[k]], label)


def test_latest_cache(student, reference, seed=SEED):
    GRADER.check_latest_cache(student, reference, property_case(seed))


def test_grads_overwritten(student, reference, seed=SEED):
    GRADER.check_repeat(student, reference, property_case(seed))


def test_dout_untouched(student, reference, seed=SEED):
    GRADER.check_dout_untouched(student, reference, property_case(seed))


def test_analytic(student, reference, seed=SEED):
    GRADER.check_analytic(student, reference, property_case(seed))
