"""The shipped reference (solutions/<assignment>/reference.py): every backward is the gradient of its forward.

All in float64. Smooth inputs: central differences of the shipped forward. Extreme inputs (|x| up
to 1000), where differences lose accuracy: the mathematically exact derivative, computed stably here.

Re-measure the worst errors behind the tolerances (many seeds):
    .venv/bin/python tests/test_reference_gradients.py [n_seeds]
"""

from __future__ import annotations

import importlib.util
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # also run as a script (the measurement sweep below)
    sys.path.insert(0, str(ROOT))
from tests.nb74 import NB74  # noqa: E402

H = 1e-6  # central-difference step for inputs of order 1 (truncation ~h², rounding ~eps/h)

# Tolerances, from the worst errors measured by the sweep at the bottom (1000 seeds, every case):
# - Linear, MSE: the forward is affine / quadratic in the perturbed entry, so central differences
#   have no truncation error, only rounding. Worst measured 4.0e-8 (Linear dW) → 4e-7 (10× margin).
TOL_FD_POLY = 4e-7
# - Sigmoid, Tanh, SoftmaxCrossEntropy at moderate inputs (smooth, curved): worst measured 2.0e-7
#   (softmax: rounding of the shifted logits when the gradient is small; Sigmoid 3.3e-8, Tanh 1.2e-8)
#   → 1e-6 (5× margin), ten times tighter than the notebook's and the graders' tolerance (1e-5).
TOL_FD_SMOOTH = 1e-6
# - ReLU with the step below |x| (|x| down to 1e-4): piecewise linear, rounding only. Worst measured
#   6.3e-10 → 1e-8 (16× margin).
TOL_FD_RELU = 1e-8
# - Against the exact derivative (extreme inputs): rounding only. Error in units of the derivative's
#   natural scale (max|dout|/4 for Sigmoid, max|dout| for Tanh, 1/N for softmax: see `scaled_error`).
#   Worst measured 5.3e-16 (Sigmoid; Tanh 4.0e-16, softmax 2.9e-16) → 1e-14 (19× margin).
TOL_EXACT = 1e-14

MSE_SHAPES = [(4, 3), (1, 5), (1, 1), (6, 1), (2, 7)]
LINEAR_SHAPES = [(1, 5, 3), (4, 3, 2), (7, 2, 6), (3, 4, 4), (1, 1, 1)]  # (N, D_in, D_out)
SCE_SHAPES = [(4, 3), (1, 5), (7, 2)]
SEEDS = [0, 1, 2]


def load_reference(path: Path | None = None) -> ModuleType:
    """Import the generated reference module from its file."""
    spec = importlib.util.spec_from_file_location("nb74_reference_under_test", path or NB74.reference())
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def central_diff(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = H) -> np.ndarray:
    """Central differences of a scalar f at x, divided by the step actually taken ((x+h)-(x-h))."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        orig = x[idx]
        x[idx] = orig + h
        fp, up = f(x), x[idx]
        x[idx] = orig - h
        fm, down = f(x), x[idx]
        x[idx] = orig
        grad[idx] = (fp - fm) / (up - down)
    return grad


def max_rel(got: np.ndarray, expected: np.ndarray) -> float:
    """max|got - expected| / max(max|got|, max|expected|) (independent of the notebook's copy)."""
    scale = max(float(np.max(np.abs(got))), float(np.max(np.abs(expected))))
    return 0.0 if scale == 0.0 else float(np.max(np.abs(got - expected)) / scale)


def scaled_error(got: np.ndarray, exact: np.ndarray, scale: float) -> float:
    """max|got - exact| in units of the derivative's largest possible size. Max-normalising is
    meaningless here: a saturated gradient may be 1e-300 everywhere, i.e. zero for any use."""
    return float(np.max(np.abs(got - exact))) / scale


@contextmanager
def strict_numerics() -> Iterator[None]:
    """Any warning is an error; overflow, invalid and divide-by-zero raise. Underflow is left at
    NumPy's default (ignore): exp(-1000) = 0 is the correctly rounded result and never prints."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise", under="ignore"):
            yield


def exact_sigmoid_grad(x: np.ndarray, dout: np.ndarray) -> np.ndarray:
    # σ'(x) = e^{-|x|} / (1 + e^{-|x|})², symmetric in x, no overflow
    with np.errstate(under="ignore"):
        e = np.exp(-np.abs(x))
        return dout * e / (1 + e) ** 2


def exact_tanh_grad(x: np.ndarray, dout: np.ndarray) -> np.ndarray:
    # tanh'(x) = sech²(x) = 4 e^{-2|x|} / (1 + e^{-2|x|})², no overflow
    with np.errstate(under="ignore"):
        e = np.exp(-2 * np.abs(x))
        return dout * 4 * e / (1 + e) ** 2


def exact_sce_grad(x: np.ndarray, onehot: np.ndarray) -> np.ndarray:
    # (softmax(x) - t) / N, log-softmax via np.logaddexp.reduce. Shift by the row max first: the
    # log-sum-exp of unshifted logits ~1000 carries an absolute rounding error ~eps·1000 ≈ 1e-13
    s = x - np.max(x, axis=1, keepdims=True)
    with np.errstate(under="ignore"):
        p = np.exp(s - np.logaddexp.reduce(s, axis=1, keepdims=True))
    return (p - onehot) / x.shape[0]


def extreme_inputs(rng: np.random.Generator) -> np.ndarray:
    """Moderate values mixed with |x| up to 1000, including the edges of exp's range (±745)."""
    fixed = [1000.0, -1000.0, 745.0, -745.0, 40.0, -40.0, 20.0, -20.0, 1e-8, 0.0]
    wild = rng.uniform(10, 1000, 20) * rng.choice([-1.0, 1.0], 20)
    return np.concatenate([rng.standard_normal(10) * 3, wild, fixed]).reshape(4, 10)


# ---- the cases: each returns the measured errors (used by the tests and by the sweep) ----


def mse_error(ref: ModuleType, shape: tuple[int, int], rng: np.random.Generator) -> float:
    y, t = rng.standard_normal(shape), rng.standard_normal(shape)
    loss = ref.MSELoss()
    loss.forward(y, t)
    return max_rel(loss.backward(), central_diff(lambda v: ref.MSELoss().forward(v, t), y))


def linear_errors(ref: ModuleType, shape: tuple[int, int, int], rng: np.random.Generator) -> dict[str, float]:
    n, d_in, d_out = shape
    W, b = rng.standard_normal((d_in, d_out)), rng.standard_normal(d_out)
    x, dout = rng.standard_normal((n, d_in)), rng.standard_normal((n, d_out))

    def loss(x_: np.ndarray, W_: np.ndarray, b_: np.ndarray) -> float:
        layer = ref.Linear(d_in, d_out)
        layer.params["W"], layer.params["b"] = W_, b_
        return float(np.sum(layer.forward(x_) * dout))

    layer = ref.Linear(d_in, d_out)
    layer.params["W"], layer.params["b"] = W.copy(), b.copy()
    layer.forward(x)
    dx = layer.backward(dout.copy())
    return {
        "dx": max_rel(dx, central_diff(lambda v: loss(v, W, b), x)),
        "dW": max_rel(layer.grads["W"], central_diff(lambda v: loss(x, v, b), W)),
        "db": max_rel(layer.grads["b"], central_diff(lambda v: loss(x, W, v), b)),
    }


def activation_fd_error(ref: ModuleType, name: str, x: np.ndarray, rng: np.random.Generator, h: float = H) -> float:
    cls = getattr(ref, name)
    dout = rng.standard_normal(x.shape)
    layer = cls()
    layer.forward(x)
    return max_rel(layer.backward(dout.copy()), central_diff(lambda v: np.sum(cls().forward(v) * dout), x, h))


def activation_exact_error(ref: ModuleType, name: str, x: np.ndarray, rng: np.random.Generator) -> float:
    dout = rng.standard_normal(x.shape)
    with strict_numerics():  # the shipped forward and backward themselves
        layer = getattr(ref, name)()
        layer.forward(x)
        got = layer.backward(dout.copy())
    exact, scale = {"Sigmoid": (exact_sigmoid_grad, 0.25), "Tanh": (exact_tanh_grad, 1.0)}[name]
    return scaled_error(got, exact(x, dout), scale * float(np.max(np.abs(dout))))


def relu_inputs(rng: np.random.Generator) -> np.ndarray:
    # |x| log-uniform in [1e-4, 3], random sign: every entry close to the kink, none on it
    return 10 ** rng.uniform(-4, np.log10(3), (6, 5)) * rng.choice([-1.0, 1.0], (6, 5))


def sce_fd_error(ref: ModuleType, x: np.ndarray, t: np.ndarray) -> float:
    loss = ref.SoftmaxCrossEntropy()
    loss.forward(x, t)
    return max_rel(loss.backward(), central_diff(lambda v: ref.SoftmaxCrossEntropy().forward(v, t), x))


def sce_exact_error(ref: ModuleType, x: np.ndarray, t: np.ndarray) -> float:
    onehot = t if t.ndim == 2 else np.eye(x.shape[1])[t]
    with strict_numerics():
        loss_fn = ref.SoftmaxCrossEntropy()
        loss = loss_fn.forward(x, t)
        got = loss_fn.backward()
    assert np.isfinite(loss)
    return scaled_error(got, exact_sce_grad(x, onehot), 1.0 / x.shape[0])


def large_logits(rng: np.random.Generator, shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """Logits of magnitude 1000: spread out (confident, p nearly one-hot), and huge but close
    together (a naive exp overflows, yet the gradient is far from one-hot)."""
    return {
        "spread": rng.uniform(-1000, 1000, shape),
        "close": 1000 * rng.choice([-1.0, 1.0]) + rng.standard_normal(shape),
    }


# ---- tests ----


@pytest.fixture(scope="module")
def ref() -> ModuleType:
    return load_reference()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", MSE_SHAPES, ids=str)
def test_mse(ref, shape, seed):
    err = mse_error(ref, shape, np.random.default_rng(seed))
    print(f"MSELoss {shape}: {err:.2e}")
    assert err < TOL_FD_POLY


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", LINEAR_SHAPES, ids=str)
def test_linear(ref, shape, seed):
    errs = linear_errors(ref, shape, np.random.default_rng(seed))
    print(f"Linear {shape}: " + ", ".join(f"{k} {v:.2e}" for k, v in errs.items()))
    assert max(errs.values()) < TOL_FD_POLY, errs


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name,scale", [("Sigmoid", 5.0), ("Tanh", 3.0)])
def test_activation_smooth_inputs(ref, name, scale, seed):
    rng = np.random.default_rng(seed)
    for shape in [(5, 4), (1, 7)]:
        err = activation_fd_error(ref, name, rng.standard_normal(shape) * scale, rng)
        print(f"{name} {shape} ×{scale}: {err:.2e}")
        assert err < TOL_FD_SMOOTH


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", ["Sigmoid", "Tanh"])
def test_activation_extreme_inputs(ref, name, seed):
    # central differences are useless out here (σ(20 ± h) differ by ~eps): exact derivative instead
    rng = np.random.default_rng(seed)
    x = extreme_inputs(rng)
    assert np.max(np.abs(x)) == 1000.0
    err = activation_exact_error(ref, name, x, rng)
    print(f"{name} |x| ≤ 1000 vs exact: {err:.2e}")
    assert err < TOL_EXACT


@pytest.mark.parametrize("seed", SEEDS)
def test_relu_near_kink(ref, seed):
    rng = np.random.default_rng(seed)
    x = relu_inputs(rng)
    h = 1e-6
    assert h < np.min(np.abs(x)) and np.min(np.abs(x)) < 1e-3  # the step never crosses 0
    err = activation_fd_error(ref, "ReLU", x, rng, h=h)
    print(f"ReLU min|x| {np.min(np.abs(x)):.1e}: {err:.2e}")
    assert err < TOL_FD_RELU


def test_relu_at_zero_uses_the_convention(ref):
    layer = ref.ReLU()
    layer.forward(np.array([[0.0, -0.0, 1e-300, -1e-300]]))
    assert layer.backward(np.ones((1, 4))).tolist() == [[0.0, 0.0, 1.0, 0.0]]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", SCE_SHAPES, ids=str)
def test_softmax_ce_moderate_logits(ref, shape, seed):
    rng = np.random.default_rng(seed)
    x, t = rng.standard_normal(shape) * 3, rng.integers(0, shape[1], shape[0])
    errs = {"indices": sce_fd_error(ref, x, t), "one-hot": sce_fd_error(ref, x, np.eye(shape[1])[t])}
    print(f"SoftmaxCrossEntropy {shape}: " + ", ".join(f"{k} {v:.2e}" for k, v in errs.items()))
    assert max(errs.values()) < TOL_FD_SMOOTH, errs


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", SCE_SHAPES, ids=str)
def test_softmax_ce_logits_of_magnitude_1000(ref, shape, seed):
    # differences of a loss of size ~1000 lose ~eps·1000/h: compare with the exact (p - t)/N instead
    rng = np.random.default_rng(seed)
    t = rng.integers(0, shape[1], shape[0])
    for kind, x in large_logits(rng, shape).items():
        errs = {"indices": sce_exact_error(ref, x, t), "one-hot": sce_exact_error(ref, x, np.eye(shape[1])[t])}
        shown = ", ".join(f"{k} {v:.2e}" for k, v in errs.items())
        print(f"SoftmaxCrossEntropy {shape} {kind} logits vs exact: {shown}")
        assert max(errs.values()) < TOL_EXACT, (kind, errs)


@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_ce_close_large_logits_against_differences(ref, seed):
    # logits ≈ ±1000 but within a few units of each other: the loss stays O(1), so central differences
    # (with the step actually taken) still check the shipped forward itself, not our formula
    rng = np.random.default_rng(seed)
    x = large_logits(rng, (5, 4))["close"]
    err = sce_fd_error(ref, x, rng.integers(0, 4, 5))
    print(f"SoftmaxCrossEntropy logits ≈ {x[0, 0]:.0f} vs differences: {err:.2e}")
    assert err < TOL_FD_SMOOTH


def test_seed_mse_backward_is_off_by_d(ref):
    class SeedMSELoss(ref.MSELoss):
        def backward(self):  # the seed notebook's formula: right only for D == 1
            return (2 / self.cache["N"]) * (self.cache["y"] - self.cache["t"])

    rng = np.random.default_rng(3)
    y, t = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    seed_loss = SeedMSELoss()
    seed_loss.forward(y, t)
    got = seed_loss.backward()
    num = central_diff(lambda v: ref.MSELoss().forward(v, t), y)
    np.testing.assert_allclose(got / num, 3.0, rtol=1e-6)  # D = 3 times the true gradient
    assert max_rel(got, num) > 0.5  # 2/3
    with pytest.raises(AssertionError, match="見立て: dL/dy が正しい値の D 倍です"):  # the visible check says so
        ref.nb74.check_loss(SeedMSELoss, y, t)
    ref.nb74.check_loss(SeedMSELoss, y[:, :1], t[:, :1])  # and accepts it where it was right (D = 1)


def seed_relative_error(a: np.ndarray, n: np.ndarray) -> float:
    """The seed notebook's formula: element-wise, so near-zero components dominate."""
    return float(np.max(np.abs(a - n) / (np.maximum(np.abs(a), np.abs(n)) + 1e-10)))


def test_seed_relative_error_fails_correct_near_zero_gradients(ref):
    # a saturated sigmoid (x = 20, σ' ≈ 2e-9): the analytic gradient is right, but the difference
    # quotient there carries rounding noise of ~eps/h, a large fraction of 2e-9
    x = np.array([[0.5, -1.0, 2.0, 20.0]])
    dout = np.ones_like(x)
    layer = ref.Sigmoid()
    layer.forward(x)
    analytic = layer.backward(dout)
    assert scaled_error(analytic, exact_sigmoid_grad(x, dout), 0.25) < TOL_EXACT  # it is correct
    numeric = ref.numerical_gradient(lambda v: np.sum(ref.Sigmoid().forward(v) * dout), x, h=1e-5)
    old, new = seed_relative_error(analytic, numeric), ref.relative_error(analytic, numeric)
    print(f"seed formula {old:.2e}, notebook relative_error {new:.2e} (threshold {ref.GRAD_TOL:g})")
    assert old > ref.GRAD_TOL > new


# ---- measurement sweep (not a test) ----


def sweep(n_seeds: int) -> dict[str, float]:
    """Worst error of every case over n_seeds seeds: the numbers behind the tolerances above."""
    ref, worst = load_reference(), {}

    def keep(key: str, value: float) -> None:
        worst[key] = max(worst.get(key, 0.0), value)

    for seed in range(n_seeds):
        rng = np.random.default_rng(seed)
        for shape in MSE_SHAPES:
            keep("fd_poly MSELoss", mse_error(ref, shape, rng))
        for shape in LINEAR_SHAPES:
            for k, v in linear_errors(ref, shape, rng).items():
                keep(f"fd_poly Linear {k}", v)
        for name, scale in [("Sigmoid", 5.0), ("Tanh", 3.0)]:
            for shape in [(5, 4), (1, 7)]:
                keep(f"fd_smooth {name}", activation_fd_error(ref, name, rng.standard_normal(shape) * scale, rng))
            keep(f"exact {name}", activation_exact_error(ref, name, extreme_inputs(rng), rng))
        keep("fd_relu ReLU", activation_fd_error(ref, "ReLU", relu_inputs(rng), rng))
        for shape in SCE_SHAPES:
            x, t = rng.standard_normal(shape) * 3, rng.integers(0, shape[1], shape[0])
            keep("fd_smooth SoftmaxCE", sce_fd_error(ref, x, t))
            keep("fd_smooth SoftmaxCE one-hot", sce_fd_error(ref, x, np.eye(shape[1])[t]))
            for kind, xl in large_logits(rng, shape).items():
                keep(f"exact SoftmaxCE {kind}", sce_exact_error(ref, xl, t))
        keep(
            "fd_smooth SoftmaxCE close ±1000",
            sce_fd_error(ref, large_logits(rng, (5, 4))["close"], rng.integers(0, 4, 5)),
        )
    return worst


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    for key, value in sorted(sweep(n).items()):
        print(f"{key:36s} {value:.2e}")
