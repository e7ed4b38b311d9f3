"""Tanh.backward: dx against central differences of the reference forward, incl. |x| up to 1000."""

from __future__ import annotations

import numpy as np
import pytest

from .backward import BackwardGrader
from .cache import case_cache
from .session import seeded

GRADER = BackwardGrader("Tanh")
SHAPES = [(1, 4), (3, 5), (6, 2), (4, 4)]
IDS = [f"{n}x{d}" for n, d in SHAPES]
SEEDS = (4311, 4312, 4313, 4314)  # one per shape
SEED = 4315
SCALE = 2.0
LARGE = np.array([1000.0, 710.0, 100.0, 40.0, 20.0])  # tanh(20) rounds to 1; exp(710) overflows


@case_cache
def make_case(seed: int, shape: tuple[int, int], salt: int = 0) -> dict:
    rng = seeded(seed, 400 + salt * 1000 + shape[0] * 10 + shape[1])
    return {
        "key": (seed, shape, salt),
        "x": SCALE * rng.standard_normal(shape),
        "x2": SCALE * rng.standard_normal(shape),
        "dout": rng.standard_normal(shape),
    }


@case_cache
def make_large_case(seed: int) -> dict:
    """Half the entries of magnitude 20…1000 (both signs, ±1000 always present), the rest moderate."""
    rng = seeded(seed, 490)
    x = 2.0 * rng.standard_normal((4, 6))
    flat, idx = x.reshape(-1), rng.permutation(x.size)[: x.size // 2]
    flat[idx] = rng.choice([-1.0, 1.0], idx.size) * rng.choice(LARGE, idx.size)
    flat[idx[0]], flat[idx[1]] = 1000.0, -1000.0
    return {"key": (seed, "large"), "x": x, "dout": rng.standard_normal(x.shape)}


def cases(seeds=SEEDS) -> list[dict]:
    return [make_case(seed, shape) for seed, shape in zip(seeds, SHAPES)]


def label(case: dict) -> str:
    return f"（入力の形状 {case['x'].shape}）"


def test_gradient_shapes(student, seeds=SEEDS):
    GRADER.check_shapes(student, cases(seeds), label)


@pytest.mark.parametrize("k", range(len(SHAPES)), ids=IDS)
def test_gradients(student, reference, k, seeds=SEEDS):
    GRADER.check_values(student, reference, [cases(seeds)[k]], label)


def test_large_inputs(student, reference, seed=SEED):
    GRADER.check_values(
        student,
        reference,
        [make_large_case(seed)],
        lambda c: (
            f"（|x| が最大 1000 の入力、形状 {c['x'].shape}。cache['y'] を使えば x から exp を計算し直す必要はありません）"
        ),
    )


def test_latest_cache(student, reference, seed=SEED):
    GRADER.check_latest_cache(student, reference, make_case(seed, (4, 3), salt=1))


def test_repeat_backward(student, reference, seed=SEED):
    GRADER.check_repeat(student, reference, make_case(seed, (4, 3), salt=1))


def test_dout_untouched(student, reference, seed=SEED):
    GRADER.check_dout_untouched(student, reference, make_case(seed, (4, 3), salt=1))


def test_analytic(student, reference, seed=SEED):
    GRADER.check_analytic(student, reference, make_case(seed, (4, 3), salt=1))
