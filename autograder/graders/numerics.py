"""Numerics of the graders: central differences, the error measure, the tolerances and steps.

Expected values are central differences of the REFERENCE forward (float64) on inputs the student
has never seen; only where differences lose accuracy (softmax logits of magnitude 1000) the
reference's analytic gradient is the expected value.

Tolerances, measured by `benchmarks/false_failures.py --seeds 1000` (these very checks run in-process
over 1,000 seeds × every grader case, on the reference and the 30 equivalent correct forms of
tests/bugs/catalog.py, and on the catalog's 45 realistic bugs of the backward and MLP parts):

- FD_TOL = 1e-5, against central differences of the reference forward.
  Worst error of correct code: 3.1e-8 (MLP, ReLU chain, 2nd Linear's dW); per part Softmax 1.3e-8,
  Sigmoid 9.0e-9, Tanh 8.5e-9, ReLU 1.4e-10, Linear 5.3e-11, MSE 1.7e-12 → 320× below FD_TOL.
  Smallest error of a bug caught by these checks (on its least revealing seed): 3.2e-2 (a ReLU
  mask kept in a class attribute, seen by the MLP part); within the layer parts 5.7e-2 (ReLU slope
  by an inline difference with h = 1e-3, near the kink) → 3,200× above FD_TOL.
  (At softmax logits of magnitude 1000 a difference would be off by up to 9.8e-7, a tenth of
  FD_TOL: there the reference's analytic gradient is the expected value, with EXACT_TOL.)
- EXACT_TOL = 1e-9, against the reference's own forward output or analytic gradient, and between
  two backward calls of the student (the repeat check): rounding only.
  Worst error of correct code: 8.9e-16 → 1.1e6× below. Smallest error of a bug caught by these
  checks: 5.4e-2 (Sigmoid's cached y modified in place, seen on the second backward) → 5.4e7× above.
- No false failure (0 of 1,000 seeds × 31 correct implementations), no bug undetected on any seed;
  exercises: 2,000 random correct setups, the judge's re-run agrees with the notebook's own check
  on every one (it fails on 8, all ReLU networks whose pre-activations sit on the kink).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autograder.sandbox.budget import check_running

# Central-difference step. Inputs of the graders are O(1) (or much larger, where the step is tiny
# relative to them); ReLU inputs keep |x| ≥ 100·FD_STEP so a difference never crosses the kink.
# Truncation ~h²·f''' ≈ 1e-12, rounding ~eps·|f|/h ≈ 1e-10.
FD_STEP = 1e-6
# Where the reference forward is affine (Linear, in each of x, W, b) or quadratic (MSELoss, in y),
# central differences have no truncation error at any step, and a larger step only divides the
# rounding error: these graders use FD_STEP_EXACT.
FD_STEP_EXACT = 1e-3
FD_TOL = 1e-5
EXACT_TOL = 1e-9
# The analytic check, on the judge's side: the first backward of the property round against the
# REFERENCE's analytic backward. A backward by differences (any step h) is off by at least its
# rounding error eps·|f|/h; equivalent analytic forms differ by rounding only. Measured over 200 seeds
# (benchmarks/false_failures.py): correct forms at most 1.8e-15 (56× below), the catalog's difference
# bugs at least 3.6e-12 (sigmoid_numerical_copy, h = 1e-5; 36× above).
ANALYTIC_TOL = 1e-13
# The second backward of the property round gets this multiple of the first dout: a backward that
# neither accumulates nor reuses stale results returns exactly this multiple of its first result.
REPEAT_FACTOR = -1.5


def numerical_gradient(
    f: Callable[[np.ndarray], Any], x: np.ndarray, dout: np.ndarray | None = None, h: float = FD_STEP
) -> np.ndarray:
    """Central differences of f at x (x is not modified).

    f scalar-valued: d f / d x. f array-valued: the vector-Jacobian product with `dout`, i.e. the
    gradient of L = sum(dout * f(x)), differenced output by output before the weighted sum, so the
    outputs a perturbation does not touch cancel exactly instead of adding rounding noise."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        check_running()
        orig = x[idx]
        x[idx] = orig + h
        fp = np.asarray(f(x), dtype=np.float64)
        x[idx] = orig - h
        fm = np.asarray(f(x), dtype=np.float64)
        x[idx] = orig
        diff = fp - fm
        grad[idx] = (float(np.sum(dout * diff)) if dout is not None else float(diff)) / (2 * h)
    return grad


def max_relative_error(got: np.ndarray, expected: np.ndarray) -> float:
    """max|got - expected| / max(max|got|, max|expected|): stable where gradients are near 0."""
    scale = max(float(np.max(np.abs(got), initial=0.0)), float(np.max(np.abs(expected), initial=0.0)))
    if scale == 0.0:
        return 0.0
    return float(np.max(np.abs(got - expected)) / scale)


def close(got: np.ndarray, expected: np.ndarray, tol: float = FD_TOL) -> bool:
    """Same shape, finite and within tol (for hints; records nothing)."""
    expected = np.asarray(expected, dtype=np.float64)
    return got.shape == expected.shape and bool(np.all(np.isfinite(got))) and max_relative_error(got, expected) <= tol


def away_from_zero(x: np.ndarray, margin: float) -> np.ndarray:
    """x with every |entry| ≥ margin (entries closer to 0 are pushed out, keeping their sign)."""
    sign = np.where(x < 0, -1.0, 1.0)
    return np.where(np.abs(x) < margin, sign * (margin + np.abs(x)), x)
