"""MSELoss.backward: dL/dy against central differences of the reference forward (mean over all N·D).

Shapes with D > 1 and with N = 1 tell 2/(N·D) apart from 2/N and from 2/D.
"""

from __future__ import annotations

import pytest

from .backward import BackwardGrader
from .cache import case_cache
from .numerics import FD_STEP_EXACT
from .session import seeded

GRADER = BackwardGrader("MSELoss", loss=True, result_name="dL/dy", fd_step=FD_STEP_EXACT)  # quadratic in y
SHAPES = [(1, 3), (4, 1), (5, 3), (3, 4)]  # (N, D)
IDS = [f"N{n}_D{d}" for n, d in SHAPES]
SEEDS = (5111, 5112, 5113, 5114)  # one per shape
SEED = 5115


@case_cache
def make_case(seed: int, shape: tuple[int, int], salt: int = 0) -> dict:
    rng = seeded(seed, 500 + salt * 1000 + shape[0] * 10 + shape[1])
    return {
        "key": (seed, shape, salt),
        "y": rng.standard_normal(shape),
        "t": rng.standard_normal(shape),
        "y2": rng.standard_normal(shape),
        "t2": rng.standard_normal(shape),
    }


def cases(seeds=SEEDS) -> list[dict]:
    return [make_case(seed, shape) for seed, shape in zip(seeds, SHAPES)]


def label(case: dict) -> str:
    n, d = case["y"].shape
    return f"（N={n}, D={d}）"


def test_gradient_shapes(student, seeds=SEEDS):
    GRADER.check_shapes(student, cases(seeds), label)


@pytest.mark.parametrize("k", range(len(SHAPES)), ids=IDS)
def test_gradients(student, reference, k, seeds=SEEDS):
    GRADER.check_values(student, reference, [cases(seeds)[k]], label)


def test_latest_cache(student, reference, seed=SEED):
    GRADER.check_latest_cache(student, reference, make_case(seed, (4, 2), salt=1))


def test_repeat_backward(student, reference, seed=SEED):
    GRADER.check_repeat(student, reference, make_case(seed, (4, 2), salt=1))


def test_analytic(student, reference, seed=SEED):
    GRADER.check_analytic(student, reference, make_case(seed, (4, 2), salt=1))
