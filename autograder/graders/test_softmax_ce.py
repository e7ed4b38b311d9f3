"""SoftmaxCrossEntropy.backward: dL/dx for class-index and one-hot targets, and logits of magnitude 1000.

Moderate logits: central differences of the reference forward. Logits of magnitude 1000: the loss
is of order 1000, and a difference of it loses about eps·1000/h of the gradient — measured up to
9.8e-7 relative (200 seeds), a tenth of FD_TOL, where moderate inputs stay below 1e-8 — so there the
expected value is the reference's analytic gradient (p - t)/N, compared to rounding (EXACT_TOL),
and the student's loss is compared with the reference's.
"""

from __future__ import annotations

import numpy as np
import pytest

from .backward import BackwardGrader
from .cache import case_cache
from .numerics import EXACT_TOL
from .session import seeded

GRADER = BackwardGrader("SoftmaxCrossEntropy", loss=True, result_name="dL/dx")
SHAPES = [(1, 3), (4, 3), (5, 2), (3, 5)]  # (N, C)
IDS = [f"N{n}_C{c}" for n, c in SHAPES]
ONEHOT_SHAPES = [(4, 3), (2, 5)]
SEEDS = (5211, 5212, 5213, 5214)  # one per shape
SEED = 5215


@case_cache
def make_case(seed: int, shape: tuple[int, int], salt: int = 0, onehot: bool = False) -> dict:
    """Logits 2·N(0, 1); targets as class indices (int64, shape (N,)) or one-hot (N, C)."""
    n, c = shape
    rng = seeded(seed, 600 + salt * 1000 + n * 10 + c + 10000 * onehot)
    labels, labels2 = rng.integers(0, c, n), rng.integers(0, c, n)
    t, t2 = (np.eye(c)[labels], np.eye(c)[labels2]) if onehot else (labels, labels2)
    return {
        "key": (seed, shape, salt, onehot),
        "onehot": onehot,
        "y": 2.0 * rng.standard_normal(shape),
        "t": t,
        "y2": 2.0 * rng.standard_normal(shape),
        "t2": t2,
    }


@case_cache
def make_large_case(seed: int) -> dict:
    """Logits ±1000 plus N(0, 1) (several classes of a row compete), class-index targets."""
    rng = seeded(seed, 690)
    n, c = 5, 4
    y = rng.choice([-1000.0, 1000.0], (n, c)) + rng.standard_normal((n, c))
    t = rng.integers(0, c, n)
    y[0] = [1000.0, -1000.0, 1000.0, 999.0]  # ties and a near-tie at 1000
    y[1], t[1] = [-1000.0, 1000.0, 1000.0, -1000.0], 0  # the target's p underflows to 0
    return {"key": (seed, "large"), "y": y, "t": t}


def cases(seeds=SEEDS) -> list[dict]:
    return [make_case(seed, shape) for seed, shape in zip(seeds, SHAPES)]


def label(case: dict) -> str:
    n, c = case["y"].shape
    return f"（N={n}, C={c}、t は{'one-hot' if case.get('onehot') else 'クラス番号'}）"


def test_gradient_shapes(student, seeds=SEEDS):
    GRADER.check_shapes(student, cases(seeds), label)


@pytest.mark.parametrize("k", range(len(SHAPES)), ids=IDS)
def test_gradients(student, reference, k, seeds=SEEDS):
    GRADER.check_values(student, reference, [cases(seeds)[k]], label)


@pytest.mark.parametrize("shape", ONEHOT_SHAPES, ids=[f"N{n}_C{c}" for n, c in ONEHOT_SHAPES])
def test_onehot_targets(student, reference, shape, seeds=SEEDS):
    GRADER.check_values(student, reference, [make_case(seeds[0], shape, onehot=True)], label)


def analytic(reference, case: dict) -> dict:
    ref = reference.SoftmaxCrossEntropy()
    ref.forward(case["y"], case["t"])
    return {GRADER.result_name: ref.backward()}


def test_large_logits(student, reference, seed=SEED):
    GRADER.check_values(
        student,
        reference,
        [make_large_case(seed)],
        lambda c: f"（絶対値 1000 程度のロジット、N={c['y'].shape[0]}, C={c['y'].shape[1]}。比較相手は解析的な勾配）",
        expected=lambda c: analytic(reference, c),
        tol=EXACT_TOL,
    )


def test_latest_cache(student, reference, seed=SEED):
    GRADER.check_latest_cache(student, reference, make_case(seed, (4, 3), salt=1))


def test_repeat_backward(student, reference, seed=SEED):
    GRADER.check_repeat(student, reference, make_case(seed, (4, 3), salt=1))


def test_analytic(student, reference, seed=SEED):
    GRADER.check_analytic(student, reference, make_case(seed, (4, 3), salt=1))
