"""ReLU.backward: dx against central differences of the reference forward, incl. inputs near the kink.

No input is closer to 0 than 100 difference steps (|x| ≥ 1e-4 > FD_STEP = 1e-6), so every
difference stays on one linear piece and is exact up to rounding; x = 0 itself is never used
(any subgradient there is accepted: masks x > 0 and x >= 0 are both correct).
"""

from __future__ import annotations

import numpy as np
import pytest

from .backward import BackwardGrader
from .cache import case_cache
from .numerics import away_from_zero
from .session import seeded

GRADER = BackwardGrader("ReLU")
SHAPES = [(1, 4), (3, 5), (6, 2), (4, 4)]
IDS = [f"{n}x{d}" for n, d in SHAPES]
SEEDS = (4211, 4212, 4213, 4214)  # one per shape
SEED = 4215
KINK_MIN, KINK_MAX = 1e-4, 1e-2  # |x| of the near-kink inputs


@case_cache
def make_case(seed: int, shape: tuple[int, int], salt: int = 0) -> dict:
    """x and dout; x2 (the second forward of the property round) has the opposite sign of x
    everywhere, so a backward that uses a stale mask is wrong on every entry."""
    rng = seeded(seed, 300 + salt * 1000 + shape[0] * 10 + shape[1])
    x = away_from_zero(rng.standard_normal(shape), 1e-3)
    x2 = -np.sign(x) * away_from_zero(np.abs(rng.standard_normal(shape)), 1e-3)
    return {"key": (seed, shape, salt), "x": x, "x2": x2, "dout": rng.standard_normal(shape)}


@case_cache
def make_kink_case(seed: int) -> dict:
    """Every |x| in [1e-4, 1e-2] (log-uniform), ten of each sign."""
    rng = seeded(seed, 390)
    shape = (4, 5)
    sign = rng.permutation(np.repeat([-1.0, 1.0], 10)).reshape(shape)
    x = sign * 10.0 ** rng.uniform(np.log10(KINK_MIN), np.log10(KINK_MAX), shape)
    return {"key": (seed, "kink"), "x": x, "dout": rng.standard_normal(shape)}


def cases(seeds=SEEDS) -> list[dict]:
    return [make_case(seed, shape) for seed, shape in zip(seeds, SHAPES)]


def label(case: dict) -> str:
    return f"（入力の形状 {case['x'].shape}）"


def test_gradient_shapes(student, seeds=SEEDS):
    GRADER.check_shapes(student, cases(seeds), label)


@pytest.mark.parametrize("k", range(len(SHAPES)), ids=IDS)
def test_gradients(student, reference, k, seeds=SEEDS):
    GRADER.check_values(student, reference, [cases(seeds)[k]], label)


def test_near_kink(student, reference, seed=SEED):
    GRADER.check_values(
        student,
        reference,
        [make_kink_case(seed)],
        lambda c: f"（0 にごく近い入力 {KINK_MIN:g} ≤ |x| ≤ {KINK_MAX:g}、形状 {c['x'].shape}）",
    )


def test_latest_cache(student, reference, seed=SEED):
    GRADER.check_latest_cache(student, reference, make_case(seed, (4, 3), salt=1))


def test_repeat_backward(student, reference, seed=SEED):
    GRADER.check_repeat(student, reference, make_case(seed, (4, 3), salt=1))


def test_dout_untouched(student, reference, seed=SEED):
    GRADER.check_dout_untouched(student, reference, make_case(seed, (4, 3), salt=1))


def test_analytic(student, reference, seed=SEED):
    GRADER.check_analytic(student, reference, make_case(seed, (4, 3), salt=1))
