"""The hidden graders, run in-process (no sandbox) with the runner's own request handler.

Fast checks of the graders themselves: the rubric names their functions, points split without
rounding drift, the inputs have the promised properties, the messages name what is wrong (and how),
never a hidden value, and the measured tolerances hold on a few seeds (the full measurement is
benchmarks/false_failures.py).
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from autograder.graders import numerics, session
from benchmarks.false_failures import BENCHMARK_KEY, LocalStudent, run_part
from benchmarks.false_failures import main as benchmark_main
from tests.bugs.catalog import BUGS
from tests.digits import NUMBER, significant_digits
from tests.nb74 import NB74
from tests.submissions import RELEASE

RUBRIC = NB74.rubric
BY_NAME = {e.name: e for e in BUGS}


@pytest.fixture(autouse=True)
def inputs_key():
    """Cases drawn here directly (not through run_part) need a key too, as in the judge."""
    with session.inputs_key(BENCHMARK_KEY):
        yield


@pytest.fixture(scope="module")
def solution():
    return LocalStudent()


def module(part: str):
    return importlib.import_module(f"{NB74.package}.graders.test_{part}")


def suite(part: str):
    """The part's BackwardSuite subclass."""
    return next(v for k, v in vars(module(part)).items() if k.startswith("Test"))


def messages(student: LocalStudent, part: str, passed: set[str] | None = None) -> dict[str, str]:
    passed = set(RUBRIC.parts) - {part} if passed is None else passed
    return {case: msg for case, ok, msg, _ in run_part(student, part, 0, passed) if not ok}


def collected_tests(part: str) -> list[str]:
    """The part's tests as pytest collects them, one entry per case (parameters dropped)."""
    return [case.split("[")[0] for case, _, _, _ in run_part(LocalStudent(), part, 0, set(RUBRIC.parts))]


@pytest.mark.parametrize("part", list(RUBRIC.parts))
def test_rubric_names_the_grader_functions(part):
    assert set(collected_tests(part)) == set(RUBRIC.parts[part].tests), part


@pytest.mark.parametrize("part", list(RUBRIC.parts))
def test_points_split_without_rounding_drift(part):
    """Each case's share is a short decimal, so the judge's 6-decimal rounding adds up exactly."""
    cases: dict[str, int] = {}
    for name in collected_tests(part):
        cases[name] = cases.get(name, 0) + 1
    for name, points in RUBRIC.parts[part].tests.items():
        share = points / cases[name]
        assert round(share, 6) * cases[name] == pytest.approx(points, abs=1e-12), (name, cases[name])


@pytest.mark.parametrize("part", [p for p in RUBRIC.parts])
def test_every_test_of_the_stub_fails(part):
    """The untouched release scores 0 on every test: each one needs the student's backward."""
    release = LocalStudent(base=RELEASE)
    results = run_part(release, part, 0, set())
    assert results and not [case for case, ok, _, _ in results if ok]


def test_solution_passes_every_test(solution):
    for part in RUBRIC.parts:
        assert messages(solution, part, set(RUBRIC.parts)) == {}, part


def test_inputs_have_the_promised_properties():
    lin = suite("linear")
    assert any(n == 1 for n, _, _ in lin.shapes) and any(i != o for _, i, o in lin.shapes)
    assert any(i == o for _, i, o in lin.shapes), "a square layer, where a transposed dW keeps its shape"
    for part in ("sigmoid", "tanh"):
        x = suite(part).large_case(suite(part).hidden.special)["x"]
        assert x.max() == 1000 and x.min() == -1000 and (np.abs(x) < 5).any()
    relu = suite("relu")
    x = module("relu").make_kink_case(relu.hidden.special)["x"]
    assert np.abs(x).min() >= 100 * numerics.FD_STEP and np.abs(x).max() <= 1e-2
    assert (x > 0).any() and (x < 0).any()
    for seed in relu.hidden.per_shape:
        for shape in relu.shapes:
            assert np.abs(relu.make_case(seed, shape)["x"]).min() >= 1e-3
    sce = module("softmax_ce")
    y = sce.make_large_case(suite("softmax_ce").hidden.special)["y"]
    assert np.abs(y).max() >= 1000
    assert sce.make_case(1, (4, 3))["t"].dtype.kind == "i" and sce.make_case(1, (4, 3), onehot=True)["t"].shape == (
        4,
        3,
    )
    assert any(n == 1 for n, _ in suite("mse").shapes) and any(d > 1 for _, d in suite("mse").shapes)


def test_hidden_seeds_differ_from_the_benchmark_seeds():
    from benchmarks.false_failures import SEED_BASE

    hidden = [s for p in RUBRIC.parts if p in BACKWARD for s in (*suite(p).hidden.per_shape, suite(p).hidden.special)]
    assert len(hidden) == 5 * len(BACKWARD) and module("mlp").SEED not in hidden
    assert all(seed < SEED_BASE for seed in [*hidden, module("mlp").SEED])


BACKWARD = ["linear", "sigmoid", "relu", "tanh", "mse", "softmax_ce"]


# Bugs and the words their feedback must contain (the hint that tells the student what to fix).
HINTS = {
    "linear_dW_transposed": "転置",
    "linear_extra_1_over_N": "倍",
    "linear_db_not_summed": "形状が違います",
    "linear_dx_transposed": "形状が違います",
    "linear_accumulates": "足し込んでいます。grads には += で足し込まず",
    "linear_stale_grads": "1 回目の値のまま",
    "linear_returns_list": "np.ndarray ではありません",
    "linear_forward_edited": "forward は変更しないでください",
    "linear_stale_cache": "直前の forward のキャッシュ",
    "sigmoid_exp_overflow": "NaN",
    "sigmoid_dout_in_place": "dout をその場で書き換えています",
    "sigmoid_cache_in_place": "self.cache の配列をその場で書き換えて",
    "sigmoid_numerical": "forward が",
    "relu_memo_mask": "直前の forward のキャッシュ",
    "relu_dout_in_place": "dout をその場で書き換えています",
    "mse_seed_2_over_N": "倍",
    "mse_sign": "符号が逆",
    "mse_forward_edited": "forward は変更しないでください",
    "softmax_no_1_over_N": "倍",
    "softmax_cache_in_place": "self.cache の配列をその場で書き換えて",
    "relu_class_attribute": "共有",
    "ex81_wrong_architecture": "MLP([2, 4, 3])",
    "ex81_float_labels": "整数型",
    "ex81_no_check": "呼ばれていません",
    "ex82_labels_1d": "(N, N)",
    "ex82_relu_zero_inputs": "ReLU なら 0 付近",
    "ex82_cell_error": "NameError",
}


@pytest.mark.parametrize("name", list(HINTS))
def test_feedback_names_the_mistake(name):
    entry = BY_NAME[name]
    failed = messages(LocalStudent({entry.cell: entry.source}), entry.part)
    assert failed, f"{name} went unnoticed"
    assert any(HINTS[name] in m for m in failed.values()), failed


@pytest.mark.parametrize("entry", [e for e in BUGS if not e.part.startswith("exercise")], ids=lambda e: e.name)
def test_feedback_never_shows_hidden_values(entry):
    """Positions, shapes, errors (3 digits), tolerances and factors (3 digits) only: no number with
    4 or more significant digits, which is how an input or an expected gradient would leak."""
    for case, msg in messages(LocalStudent({entry.cell: entry.source}), entry.part).items():
        long = [n for n in NUMBER.findall(msg) if significant_digits(n) >= 4]
        assert not long, (case, long, msg)


def test_mlp_waits_for_the_parts_it_needs(solution):
    failed = messages(solution, "mlp", passed=set())
    assert len(failed) == len(collected_tests("mlp"))
    assert all("満点になってから" in m for m in failed.values())
    # with Linear alone, the three networks are graded (the activations are the reference's)
    assert messages(solution, "mlp", passed={"linear"}) == {}


def test_mlp_charges_an_activation_bug_once():
    """A Sigmoid bug fails the sigmoid part; the MLP part then uses the reference Sigmoid."""
    entry = BY_NAME["sigmoid_uses_x"]
    student = LocalStudent({entry.cell: entry.source})
    passed = set(RUBRIC.parts) - {"sigmoid"}
    assert messages(student, "mlp", passed) == {}
    assert messages(student, "mlp", passed | {"sigmoid"})  # would fail with the student's Sigmoid


def test_benchmark_runs_clean_on_a_few_seeds(capsys):
    assert benchmark_main(["--seeds", "2"]) == 0
    out = capsys.readouterr().out
    assert "false failures (backward parts and mlp): 0" in out
    assert "bugs undetected on some seed: 0" in out


TRIVIAL = {  # a backward that returns something of the right shape and nothing more
    "linear": "def backward(self, dout):\n    self.grads['W'] = np.zeros_like(self.params['W'])\n"
    "    self.grads['b'] = np.zeros_like(self.params['b'])\n    return RET\n",
    "sigmoid": "def backward(self, dout):\n    return RET\n",
    "relu": "def backward(self, dout):\n    return RET\n",
    "tanh": "def backward(self, dout):\n    return RET\n",
    "mse": "def backward(self):\n    dout = self.cache['y']\n    return RET\n",
    "softmax_ce": "def backward(self):\n    dout = self.cache['p']\n    return RET\n",
}
SHAPED = {"linear": "dout @ np.zeros_like(self.params['W']).T"}


@pytest.mark.parametrize("part", list(TRIVIAL))
@pytest.mark.parametrize("ret", ["dout", "np.zeros_like(dout)", "np.full_like(dout, np.nan)"])
def test_trivial_backward_earns_only_the_shape_test(part, ret):
    from tests.bugs.catalog import with_backward

    ret = SHAPED.get(part, ret) if ret == "np.zeros_like(dout)" else ret
    student = LocalStudent({part: with_backward(part, TRIVIAL[part].replace("RET", ret))})
    passed = {case for case, ok, _, _ in run_part(student, part, 0, set()) if ok}
    assert passed <= {"test_gradient_shapes"}, passed


@pytest.mark.parametrize(
    "ret",
    [
        "None",
        "0.0",
        "'abc'",
        "{'a': 1}",
        "[dout, dout]",
        "np.full((2, 2, 2), np.nan)",
        "np.zeros(3, dtype=complex)",
        "np.array([1, 2], dtype=object)",
        "object()",
        "np.empty((0,))",
        "(1, 2)",
        "dout.T",
    ],
)
def test_odd_return_values_are_graded_not_crashing(ret):
    """Whatever a backward returns, the graders answer with a Japanese message (no grader error),
    also when the MLP part would use that class."""
    from tests.bugs.catalog import with_backward

    for part, body in TRIVIAL.items():
        student = LocalStudent({part: with_backward(part, body.replace("RET", ret))})
        results = run_part(student, part, 0, set()) + run_part(student, "mlp", 0, {part})
        assert all(isinstance(msg, str) for _, _, msg, _ in results)
