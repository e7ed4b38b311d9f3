"""Numerical checks and student-call helpers shared by the hidden graders.

Every message is Japanese and concrete (which quantity, which shapes, the worst relative error and
where, a factor or transposition hint) but never shows a hidden input or expected value.

The numerical side (tolerances and why they hold) is in numerics.py; the messages in messages.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograder.sandbox.budget import check_running
from autograder.sandbox.errors import Missing, StudentError
from autograder.sandbox.part_session import RemoteObject, step_reply
from autograder.sandbox.received import clean_text, error_message, student_text
from autograder.sandbox.values import as_float_array, forward_output, loss_value, too_big

from .cache import cached, case_cache, expected_store, memo
from .expected_store import array_digest
from .messages import assert_forward, assert_gradient, assert_shape, factor_hint, simple_number
from .numerics import (
    ANALYTIC_TOL,
    EXACT_TOL,
    FD_STEP,
    FD_STEP_EXACT,
    FD_TOL,
    REPEAT_FACTOR,
    away_from_zero,
    close,
    max_relative_error,
    numerical_gradient,
)
from .session import current, inputs_key, recording, seeded

__all__ = [
    "ANALYTIC_TOL",
    "EXACT_TOL",
    "FD_STEP",
    "FD_STEP_EXACT",
    "FD_TOL",
    "REPEAT_FACTOR",
    "array_digest",
    "assert_forward",
    "assert_gradient",
    "assert_shape",
    "away_from_zero",
    "cached",
    "case_cache",
    "close",
    "expected_store",
    "factor_hint",
    "inputs_key",
    "max_relative_error",
    "memo",
    "numerical_gradient",
    "recording",
    "seeded",
    "simple_number",
]

# --- calling the student -------------------------------------------------------------------------
MISSING = object()


def as_result(raw: Any, what: str, require_ndarray: bool = False) -> np.ndarray:
    """A described value from the student as a float64 array, or a Japanese AssertionError."""
    if raw is MISSING:
        raise AssertionError(f"{what} がありません（backward で代入してください）")
    if raw is None:
        raise AssertionError(f"{what} が None です（backward で計算して、return / 代入していますか？）")
    if require_ndarray and not isinstance(raw, np.ndarray) and too_big(raw) is None:
        kind = student_text(raw["$obj"] if isinstance(raw, dict) and "$obj" in raw else type(raw).__name__, 60)
        raise AssertionError(f"{what} が np.ndarray ではありません（{kind}）。NumPy 配列にしてください")
    try:
        return as_float_array(raw, what)
    except StudentError as exc:
        raise AssertionError(str(exc)) from None


def call_array(obj: Any, method: str, *args: Any, what: str) -> np.ndarray:
    """obj.method(*args) as a float64 array."""
    return as_result(obj.call(method, *args), what)


@dataclass
class Call:
    """What one backward call gave: the described result and grads, and what the runner observed."""

    result: Any
    grads: dict[str, Any] = field(default_factory=dict)
    args_changed: list[bool] = field(default_factory=list)
    args_after: list[Any] = field(default_factory=list)  # the array arguments as the call left them
    forward_calls: int = 0


# --- the graders of a backward class (Linear, activations, losses) --------------------------------
class BackwardGrader:
    """Grades one class's backward. A case is a dict: "key" (unique), forward inputs ("x", or "y"
    and "t" for a loss), "dout" for a layer, "W"/"b" for Linear; a property case adds "x2" (or
    "y2"/"t2"), the input of a second forward."""

    def __init__(
        self,
        class_name: str,
        loss: bool = False,
        params: tuple[str, ...] = (),
        result_name: str = "dx",
        fd_step: float = FD_STEP,
    ):
        self.class_name, self.loss, self.params = class_name, loss, params
        self.result_name, self.fd_step = result_name, fd_step

    # -- talking to the student --
    def run_plan(self, student: Any, case: dict, plan: Sequence[tuple[str, Any]]) -> list[tuple[bool, Any]]:
        """A new object (with the case's params), then the calls of plan, in one round trip.

        plan: ("forward", second) and ("backward", scale of dout) items. Returns per item (True,
        forward output or Call) or (False, exception); after the first failure every later item
        carries it, and the student runs nothing further. A missing class or a failing constructor
        raises at once."""
        handle = {"$step": 0}
        steps = [student.new_request(self.class_name, *(case["W"].shape if self.params else ()))]
        if self.params:
            steps.append(
                RemoteObject.update_request(handle, self.class_name, "params", {k: case[k] for k in self.params})
            )
        for kind, arg in plan:
            s = "2" if kind == "forward" and arg else ""
            if kind == "forward":
                args = (case["y" + s], case["t" + s]) if self.loss else (case["x" + s],)
                steps.append(RemoteObject.call_request(handle, self.class_name, "forward", *args))
            else:
                args = () if self.loss else (case["dout"] * arg,)
                steps.append(
                    RemoteObject.call_request(
                        handle,
                        self.class_name,
                        "backward",
                        *args,
                        fetch=("grads", self.params) if self.params else None,
                    )
                )
        replies, error = student.steps(steps)
        setup = len(steps) - len(plan)
        obj = student.made(step_reply(replies, error, 0), self.class_name)
        step_reply(replies, error, setup - 1)  # the params were set
        outcomes: list[tuple[bool, Any]] = []
        failed: Exception | None = None
        for i, (kind, _) in enumerate(plan):
            if failed is None:
                try:
                    raw = obj.take_reply(step_reply(replies, error, setup + i))
                    outcomes.append((True, self._result(obj, kind, raw)))
                    continue
                except (AssertionError, StudentError) as exc:
                    failed = exc
            outcomes.append((False, failed))
        return outcomes

    def _result(self, obj: Any, kind: str, raw: Any) -> Any:
        if kind == "forward":
            if self.loss:
                return np.asarray(loss_value(raw, self.class_name))
            return forward_output(raw, self.class_name)
        call = Call(
            raw,
            args_changed=list(obj.last_args_changed),
            args_after=list(obj.last_args_after),
            forward_calls=obj.last_forward_calls,
        )
        call.grads = {k: obj.last_fetched.get(k, MISSING) for k in self.params}
        return call

    def round(self, student: Any, case: dict) -> tuple[np.ndarray, Call]:
        """new, forward, backward (memoised per case: one call serves the shape and value tests)."""

        def run():
            outcomes = self.run_plan(student, case, [("forward", False), ("backward", 1.0)])
            for ok, value in outcomes:
                if not ok:
                    raise value
            return outcomes[0][1], outcomes[1][1]

        return memo(student, (self.class_name, "round", case["key"]), run)

    def property_round(self, student: Any, case: dict) -> dict[str, tuple[bool, Any]]:
        """new; forward(x); A = backward(dout); forward(x2); B = backward(dout); C = backward(c·dout).

        A (the first backward) serves the dout-untouched and analytic checks, B (after a backward
        and a new forward) the latest-cache check, C (a second backward after the same forward,
        c = REPEAT_FACTOR) the repeat check. Each stage is (True, Call) or (False, exception), so
        a failure in a later stage costs only the tests that need it."""

        def run():
            plan = [
                ("forward", False),
                ("backward", 1.0),
                ("forward", True),
                ("backward", 1.0),
                ("backward", REPEAT_FACTOR),
            ]
            outcomes = self.run_plan(student, case, plan)
            if not outcomes[0][0]:
                raise outcomes[0][1]
            return {"A": outcomes[1], "B": outcomes[3], "C": outcomes[4]}  # B failed too if x2's forward did

        return memo(student, (self.class_name, "property", case["key"]), run)

    def stage(self, student: Any, case: dict, name: str) -> Call:
        ok, value = self.property_round(student, case)[name]
        if not ok:
            raise value.with_traceback(None)
        return value

    # -- expected values (central differences of the reference forward) --
    def reference_forward(self, reference: Any, case: dict, second: bool = False) -> np.ndarray:
        s = "2" if second else ""
        ref = getattr(reference, self.class_name)(*(case["W"].shape if self.params else ()))
        for k in self.params:
            ref.params[k] = case[k]
        return ref.forward(case["y" + s], case["t" + s]) if self.loss else ref.forward(case["x" + s])

    def expected(self, reference: Any, case: dict, second: bool = False) -> dict[str, np.ndarray]:
        return cached(
            (self.class_name, case["key"], second), reference, lambda: self._expected(reference, case, second)
        )

    def _expected(self, reference: Any, case: dict, second: bool) -> dict[str, np.ndarray]:
        s = "2" if second else ""
        cls = getattr(reference, self.class_name)
        if self.loss:
            loss, t = cls(), case["t" + s]
            return {self.result_name: numerical_gradient(lambda v: loss.forward(v, t), case["y" + s], h=self.fd_step)}
        x, dout = case["x" + s], case["dout"]
        ref = cls(*(case["W"].shape if self.params else ()))
        values = {k: case[k] for k in self.params}

        def forward(x_, **override):
            for k in self.params:
                ref.params[k] = override.get(k, values[k])
            return ref.forward(x_)

        out = {self.result_name: numerical_gradient(forward, x, dout, h=self.fd_step)}
        for k in self.params:
            out[k] = numerical_gradient(lambda v, k=k: forward(x, **{k: v}), values[k], dout, h=self.fd_step)
        return out

    # -- names in messages --
    def name(self, key: str) -> str:
        if key == self.result_name:
            return f"{self.class_name}.backward の戻り値 {self.result_name}"
        return f"d{key} = {self.class_name}.grads['{key}']"

    def results(self, call: Call, require_ndarray: bool = False) -> dict[str, np.ndarray]:
        out = {self.result_name: as_result(call.result, self.name(self.result_name), require_ndarray)}
        for k in self.params:
            out[k] = as_result(call.grads[k], self.name(k), require_ndarray)
        return out

    def input_shapes(self, case: dict) -> dict[str, tuple[int, ...]]:
        shapes = {self.result_name: np.shape(case["y" if self.loss else "x"])}
        shapes.update({k: np.shape(case[k]) for k in self.params})
        return shapes

    # -- the graded properties --
    def check_shapes(self, student: Any, cases: list[dict], label: Callable[[dict], str]) -> None:
        for case in cases:
            _, call = self.round(student, case)
            got = self.results(call, require_ndarray=True)
            for key, shape in self.input_shapes(case).items():
                what = "入力" if key == self.result_name else f"params['{key}']"
                assert_shape(f"{self.name(key)}（{what}と同じ形状）{label(case)}", got[key], shape)

    def check_values(
        self,
        student: Any,
        reference: Any,
        cases: list[dict],
        label: Callable[[dict], str],
        expected: Callable[[dict], dict] | None = None,
        tol: float = FD_TOL,
    ) -> None:
        for case in cases:
            out, call = self.round(student, case)
            what = "損失の値" if self.loss else "出力"
            assert_forward(
                f"{self.class_name}.forward の{what}{label(case)}", out, self.reference_forward(reference, case)
            )
            got = self.results(call)
            exp = expected(case) if expected else self.expected(reference, case)
            hints = (
                []
                if self.loss or self.params
                else [(case["dout"], "dout をそのまま返しています（f'(x) を掛けていません）")]
            )
            for key in exp:
                assert_gradient(f"{self.name(key)}{label(case)}", got[key], exp[key], tol=tol, hints=hints)

    def check_latest_cache(self, student: Any, reference: Any, case: dict) -> None:
        """forward(x), backward, forward(x2), backward: the gradients at x2."""
        got = self.results(self.stage(student, case, "B"))
        stale = self.expected(reference, case)
        for key, exp in self.expected(reference, case, second=True).items():
            hints = [
                (
                    stale[key],
                    "1 回目の forward（または 1 回目の backward）のときの値を使っています。"
                    "backward では毎回、直前の forward のキャッシュから計算してください",
                )
            ]
            if key in self.params:
                hints.insert(
                    0,
                    (
                        stale[key] + exp,
                        "1 回目と 2 回目の勾配の和になっています。grads には += で足し込まず、代入してください",
                    ),
                )
            assert_gradient(
                f"forward → backward → 別の入力で forward → backward としたときの {self.name(key)}（形状 {exp.shape}）",
                got[key],
                exp,
                hints=hints,
            )

    def check_first_call(self, student: Any, reference: Any, case: dict) -> None:
        """The precondition of the property tests (repeat, dout untouched, analytic): the first
        backward of the property round returns the right gradient, so that a backward that does
        nothing useful (return dout, return 0, …) earns no property points."""
        got = self.results(self.stage(student, case, "A"))
        for key, exp in self.expected(reference, case).items():
            try:
                assert_gradient(f"{self.name(key)}（形状 {exp.shape}）", got[key], exp)
            except AssertionError as exc:
                raise AssertionError(
                    f"この項目は backward が正しい勾配を返すようになってから採点されます（{exc}）"
                ) from None

    def check_repeat(self, student: Any, reference: Any, case: dict) -> None:
        """Two backward calls after the same forward: the second is REPEAT_FACTOR (losses: 1) times
        the first (pass/fail needs no expected value; the reference names an accumulation)."""
        self.check_first_call(student, reference, case)
        g1 = self.results(self.stage(student, case, "B"))
        g2 = self.results(self.stage(student, case, "C"))
        c = 1.0 if self.loss else REPEAT_FACTOR
        exp = self.expected(reference, case, second=True) if self.params else {}
        for key in g1:
            what = f"同じ forward の後に backward を 2 回呼んだときの 2 回目の {self.name(key)}" + (
                "（1 回目と同じになるはずです）"
                if self.loss
                else f"（2 回目の dout は 1 回目の {c:g} 倍なので、{c:g} 倍になるはずです）"
            )
            hints = [(g1[key], "1 回目の値のままです。毎回計算し直してください")] if c != 1 else []
            if key in self.params:
                accumulated = "前の backward の勾配に足し込んでいます。grads には += で足し込まず、代入してください"
                hints.insert(0, ((1 + c) * g1[key], accumulated))
                if key in exp and g1[key].shape == exp[key].shape:
                    hints.insert(0, (g1[key] + c * exp[key], accumulated))
            try:
                assert_gradient(what, g2[key], c * g1[key], tol=EXACT_TOL, hints=hints)
            except AssertionError as exc:
                if any(meaning in str(exc) for _, meaning in hints):
                    raise
                if key in self.params:
                    why = f"grads['{key}'] に前の値を足し込んだり、前の値を使い回したりしていないか"
                elif self.loss:
                    why = "backward が self.cache の配列をその場で書き換えていないか（p -= t、p[...] -= 1 など）"
                else:
                    why = (
                        "backward が self.cache の配列をその場で書き換えていないか（y *= ... など）、"
                        "dx が dout に比例しているか（dout に f'(x) を掛けるだけのはずです）"
                    )
                raise AssertionError(f"{exc}。{why}を確認してください") from None

    def check_dout_untouched(self, student: Any, reference: Any, case: dict) -> None:
        """The dout the student process sends back after the first backward equals, on the judge's
        side, the dout sent (the runner's own comparison counts too, but only against the student)."""
        self.check_first_call(student, reference, case)
        first = self.stage(student, case, "A")
        after = first.args_after[0] if first.args_after else None
        sent = case["dout"] * 1.0  # what run_plan sent for stage A
        kept = (
            isinstance(after, np.ndarray)
            and after.shape == sent.shape
            and after.dtype.kind in "biuf"
            and np.array_equal(after, sent, equal_nan=True)
        )
        if any(first.args_changed) or not kept:
            raise AssertionError(
                f"{self.class_name}.backward が引数 dout をその場で書き換えています"
                "（dout *= ... や dout[...] = ... など）。上流の勾配は他の層でも使われるので、"
                "新しい配列を作って返してください"
            )

    def analytic_expected(self, reference: Any, case: dict) -> dict[str, np.ndarray]:
        """The reference's analytic backward after the first forward of the case."""

        def run() -> dict[str, np.ndarray]:
            ref = getattr(reference, self.class_name)(*(case["W"].shape if self.params else ()))
            for k in self.params:
                ref.params[k] = np.array(case[k])
            if self.loss:
                ref.forward(case["y"], case["t"])
                out = {self.result_name: np.asarray(ref.backward(), dtype=np.float64)}
            else:
                ref.forward(np.array(case["x"]))
                out = {self.result_name: np.asarray(ref.backward(np.array(case["dout"])), dtype=np.float64)}
            out.update({k: np.asarray(ref.grads[k], dtype=np.float64) for k in self.params})
            return out

        return cached((self.class_name, case["key"], "analytic"), reference, run)

    def check_analytic(self, student: Any, reference: Any, case: dict) -> None:
        """Judged here: the first backward equals the reference's analytic backward to rounding
        (ANALYTIC_TOL), which a backward by differences does not. The runner's count of forward
        calls during backward counts too (it can only cost the student)."""
        self.check_first_call(student, reference, case)
        first = self.stage(student, case, "A")
        if first.forward_calls:
            raise AssertionError(
                f"{self.class_name}.backward の中で forward が {first.forward_calls} 回呼ばれました。"
                "数値微分ではなく、キャッシュを使って解析的に勾配を計算してください"
            )
        got = self.results(first)
        for key, exp in self.analytic_expected(reference, case).items():
            try:
                assert_gradient(f"{self.name(key)}（形状 {exp.shape}）", got[key], exp, tol=ANALYTIC_TOL)
            except AssertionError as exc:
                raise AssertionError(
                    f"{exc}。解析的な勾配と丸め誤差を超えてずれています。数値微分（差分）ではなく、"
                    "キャッシュを使って解析的に勾配を計算してください"
                ) from None


# --- exercises: the setup of a gradient check, never the student's backward ---------------------
CHECK_ARGS = ("model", "loss_fn", "X", "t", "h")
ACTIVATION_CLASSES = {"ReLU": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh"}
NOTEBOOK_CHECK_TOL = 1e-4  # the criterion of the notebook's numerical_gradient_check
MAX_CHECK_ROWS = 200  # the judge re-runs an exercise's check on at most this many samples
# ... and on at most this many parameters and layers (the exercises ask for 27 parameters in 3
# layers and 145 in 7): the re-run costs about 2·parameters·layers forward passes of the judge.
MAX_CHECK_PARAMS = 2000
MAX_CHECK_LAYERS = 30
MAX_NAMES_SHOWN = 12  # layer names quoted in a message


class Exercise:
    """One exercise: the answer cell runs with numerical_gradient_check replaced by a recorder."""

    def __init__(self, cell: str, suffix: str, dims: list[int], loss: str, classes: int | None):
        self.cell, self.suffix, self.dims, self.loss, self.classes = cell, suffix, dims, loss, classes
        self.names = [f"{n}_{suffix}" for n in ("model", "loss", "X", "t", "passed")]

    def call_text(self) -> str:
        model, loss, x, t, _ = self.names
        return f"numerical_gradient_check({model}, {loss}, {x}, {t})"

    def run(self, student) -> dict:
        """Execute the cell once per student session (the recorder keeps what every run recorded)."""
        runs = current().exercise_runs
        for session, result in runs:
            if session is student:
                return result
        result = student.run_exercise(self.cell, "numerical_gradient_check")
        runs[:] = [(student, result)]
        return result

    def setup(self, student, need_call: bool = False) -> dict[str, Any]:
        """model, loss_fn, X, t, h of the last recorded call; without one, the variables of the table."""
        calls = self.run(student).get("calls") or []
        if calls:
            call = calls[-1]
            bound = dict(zip(CHECK_ARGS, call.get("args", [])))
            for k, v in (call.get("kwargs") or {}).items():
                bound.setdefault(k, v)
            missing = [k for k in CHECK_ARGS[:4] if k not in bound]
            if missing:
                raise AssertionError(f"{self.call_text()} の呼び出しに引数 {', '.join(missing)} がありません")
            bound.setdefault("h", 1e-5)
            bound["source"] = "call"
            return bound
        if need_call:
            raise AssertionError(f"{self.call_text()} が呼ばれていません（勾配チェックを実行してください）")
        out = {"h": 1e-5, "source": "variables"}
        for key, name in zip(CHECK_ARGS, self.names):
            try:
                out[key] = student.var(name)
            except Missing:
                raise AssertionError(f"{self.call_text()} が呼ばれておらず、変数 {name} もありません") from None
        return out

    # -- the four graded properties --
    def check_variables(self, student) -> None:
        result = self.run(student)
        err = result.get("error_in_cell")
        if err:
            raise AssertionError(error_message(err, f"演習 {self.cell[-3:].replace('_', '.')} の解答セル"))
        missing = []
        for name in self.names:
            try:
                student.var(name)
            except Missing:
                missing.append(name)
        if missing:
            raise AssertionError(f"変数 {', '.join(missing)} が定義されていません（表のとおりの名前で作ってください）")
        if not result.get("calls"):
            raise AssertionError(f"{self.call_text()} が呼ばれていません。{self.names[4]} はその戻り値にしてください")

    def layers(self, model: Any) -> list[tuple[str, dict[str, Any]]]:
        if not (isinstance(model, dict) and model.get("$obj") == "MLP" and isinstance(model.get("layers"), list)):
            kind = student_text(model.get("$obj") if isinstance(model, dict) else type(model).__name__, 60)
            raise AssertionError(
                f"{self.names[0]} が MLP ではありません（{kind}）。MLP({self.dims}, activation=...) で作ってください"
            )
        out = []
        for layer in model["layers"]:
            try:
                params = dict(layer.get("params", {}).get("$dict", [])) if isinstance(layer, dict) else {}
            except (AttributeError, TypeError, ValueError):  # not the runner's description of a dict
                params = {}
            out.append((student_text(layer.get("$obj", "?"), 60) if isinstance(layer, dict) else "?", params))
        return out

    def check_architecture(self, student) -> tuple[list[tuple[str, dict]], str]:
        layers = self.layers(self.setup(student)["model"])
        names = [n for n, _ in layers]
        acts = sorted({n for n in names[1::2]})
        shown = (
            names
            if len(names) <= MAX_NAMES_SHOWN
            else names[:MAX_NAMES_SHOWN] + [f"…ほか {len(names) - MAX_NAMES_SHOWN} 層"]
        )
        expected_names = ["Linear" if i % 2 == 0 else (acts[0] if acts else "?") for i in range(2 * len(self.dims) - 3)]
        shapes = [tuple(np.shape(p.get("W"))) for n, p in layers if n == "Linear"]
        want = [(self.dims[i], self.dims[i + 1]) for i in range(len(self.dims) - 1)]
        if shapes != want or names != expected_names:
            raise AssertionError(
                f"{self.names[0]} の構成が違います: 層 {shown}、重みの形状 "
                f"{clean_text(shapes, 300)}。MLP({self.dims}) なら重みの形状は {want} です"
            )
        if len(acts) != 1 or acts[0] not in ACTIVATION_CLASSES:
            raise AssertionError(
                f"{self.names[0]} の活性化層 {clean_text(acts, 300)} は ReLU・Sigmoid・Tanh のどれか 1 つにしてください"
            )
        b_shapes = [tuple(np.shape(p.get("b"))) for n, p in layers if n == "Linear"]
        if b_shapes != [(d,) for _, d in want]:
            raise AssertionError(
                f"{self.names[0]} のバイアスの形状 {clean_text(b_shapes, 300)} が違います（期待 {[(d,) for _, d in want]}）"
            )
        return layers, ACTIVATION_CLASSES[acts[0]]

    def check_loss_and_data(self, student) -> None:
        s = self.setup(student)
        loss = s["loss_fn"].get("$obj") if isinstance(s["loss_fn"], dict) else type(s["loss_fn"]).__name__
        loss = student_text(loss, 60)
        if loss != self.loss:
            raise AssertionError(f"{self.names[1]} が {loss} です。{self.loss}() にしてください")
        X, t = s["X"], s["t"]
        if not (isinstance(X, np.ndarray) and X.dtype.kind in "iuf"):
            raise AssertionError(f"{self.names[2]} が数値の np.ndarray ではありません")
        if X.ndim != 2 or X.shape[1] != self.dims[0] or X.shape[0] < 2:
            raise AssertionError(f"{self.names[2]} の形状が {X.shape} です。(N, {self.dims[0]})（N ≥ 2）にしてください")
        if not np.all(np.isfinite(X)):
            raise AssertionError(f"{self.names[2]} に NaN または inf が含まれています")
        n = X.shape[0]
        if not (isinstance(t, np.ndarray) and t.dtype.kind in "biuf"):
            raise AssertionError(f"{self.names[3]} が数値の np.ndarray ではありません")
        if self.classes is None:
            if t.shape != (n, self.dims[-1]):
                raise AssertionError(
                    f"{self.names[3]} の形状が {t.shape} です。({n}, {self.dims[-1]}) にしてください"
                    f"（{self.names[2]} と同じ N。(N,) だと y - t が (N, N) に広がってしまいます）"
                )
            if not np.all(np.isfinite(t)):
                raise AssertionError(f"{self.names[3]} に NaN または inf が含まれています")
            return
        c = self.classes
        if t.shape == (n,):
            if t.dtype.kind not in "iu":
                raise AssertionError(
                    f"{self.names[3]} がクラス番号なら整数型にしてください（dtype {t.dtype}）。"
                    "浮動小数点の配列は添字に使えません"
                )
            if t.min() < 0 or t.max() >= c:
                raise AssertionError(f"{self.names[3]} のクラス番号は 0〜{c - 1} にしてください")
            return
        if t.shape == (n, c):
            if not (np.all((t == 0) | (t == 1)) and np.all(t.sum(axis=1) == 1)):
                raise AssertionError(f"{self.names[3]} が one-hot になっていません（各行にちょうど 1 つの 1、他は 0）")
            return
        raise AssertionError(
            f"{self.names[3]} の形状が {t.shape} です。クラス番号なら ({n},)、one-hot なら ({n}, {c}) にしてください"
        )

    def check_gradient(self, student, reference) -> None:
        """The recorded setup, re-run in the judge with the REFERENCE classes, passes the notebook's check.

        The check runs on whatever the student set up (their layers' parameters, their X and t, their
        loss class, their h), so a wrong architecture or loss is charged by its own test only; it
        fails when the setup cannot be run or when the check itself would fail with correct layers
        (e.g. inputs on ReLU's kink)."""
        s = self.setup(student, need_call=True)
        layers = self.layers(s["model"])
        loss = s["loss_fn"].get("$obj") if isinstance(s["loss_fn"], dict) else type(s["loss_fn"]).__name__
        loss = student_text(loss, 60)
        if loss not in ("MSELoss", "SoftmaxCrossEntropy"):
            raise AssertionError(
                f"{self.names[1]} が {loss} のため、参照実装で勾配チェックを再実行できません"
                f"（{self.loss}() にしてください）"
            )
        self.check_size(layers)
        h = s["h"]
        h = np.asarray(h) if isinstance(h, (int, float, np.ndarray)) and not isinstance(h, bool) else None
        if h is None or h.size != 1 or h.dtype.kind not in "iuf" or not 0 < float(h) < 1:
            raise AssertionError("numerical_gradient_check の h は 0 < h < 1 の数にしてください")

        def run() -> list[tuple[int, str, float]]:
            return reference_gradient_check(reference, layers, loss, s["X"], s["t"], float(h))

        arrays = [s["X"], s["t"], *(v for _, p in layers for _, v in sorted(p.items()))]
        if all(isinstance(a, np.ndarray) for a in arrays):  # the same setup is checked once
            key = ("exercise", loss, float(h), tuple(name for name, _ in layers), array_digest(*arrays))
            errors = [(int(k), str(name), float(err)) for k, name, err in cached(key, reference, run)]
        else:
            errors = run()
        bad = [(k, name, err) for k, name, err in errors if not err < NOTEBOOK_CHECK_TOL]
        if bad:
            k, name, err = max(bad, key=lambda e: e[2] if np.isfinite(e[2]) else np.inf)
            raise AssertionError(
                f"あなたのモデルのパラメータ・{self.names[2]}・{self.names[3]} で、参照実装を使って勾配チェックを"
                f"やり直すと {len(bad)} 個のパラメータで不合格でした（最悪は {k + 1} 番目の Linear の {name}、"
                f"相対誤差 {err:.2e}、基準 {NOTEBOOK_CHECK_TOL:.0e}）。入力や重みの大きさ"
                "（活性化関数が飽和していないか）、ReLU なら 0 付近の値を見直してください"
            )

    def check_size(self, layers: list[tuple[str, dict[str, Any]]]) -> None:
        """The judge re-runs a check only on a setup of the size the exercise asks for (give or take):
        its cost grows with parameters × layers, and the student chooses both."""
        n_params = sum(int(np.size(v)) for _, p in layers for v in p.values() if isinstance(v, np.ndarray))
        if len(layers) > MAX_CHECK_LAYERS or n_params > MAX_CHECK_PARAMS:
            want = sum((self.dims[i] + 1) * self.dims[i + 1] for i in range(len(self.dims) - 1))
            raise AssertionError(
                f"{self.names[0]} は {len(layers)} 層・パラメータ {n_params} 個で、採点側で勾配チェックを"
                f"やり直せる大きさ（{MAX_CHECK_LAYERS} 層・{MAX_CHECK_PARAMS} 個まで）を超えています。"
                f"課題のとおり MLP({self.dims})（パラメータ {want} 個）で作ってください"
            )


def reference_model(reference: Any, layers: list[tuple[str, dict]]) -> Any:
    """The student's described layers rebuilt from reference classes, in a reference MLP shell."""
    built = []
    for k, (name, params) in enumerate(layers):
        if name == "Linear":
            W, b = params.get("W"), params.get("b")
            if not (
                isinstance(W, np.ndarray)
                and isinstance(b, np.ndarray)
                and W.ndim == 2
                and b.ndim == 1
                and W.dtype.kind in "iuf"
                and b.dtype.kind in "iuf"
                and b.shape[0] == W.shape[1]
            ):
                raise AssertionError(
                    f"{k + 1} 番目の層（Linear）の params['W'], params['b'] が数値の配列"
                    "（形状 (入力, 出力) と (出力,)）ではありません"
                )
            layer = reference.Linear(*W.shape)
            layer.params["W"], layer.params["b"] = W.astype(np.float64), b.astype(np.float64)
        elif name in ACTIVATION_CLASSES:
            layer = getattr(reference, name)()
        else:
            raise AssertionError(f"{k + 1} 番目の層 {name} は参照実装にないため、勾配チェックを再実行できません")
        built.append(layer)
    model = object.__new__(reference.MLP)
    model.layers = built
    return model


def reference_gradient_check(
    reference: Any, layers: list[tuple[str, dict]], loss_name: str, X: Any, t: Any, h: float
) -> list[tuple[int, str, float]]:
    """The notebook's numerical_gradient_check, quietly, with reference classes: (linear index, name, error)."""
    model = reference_model(reference, layers)
    loss_fn = getattr(reference, loss_name)()
    try:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 2 and X.shape[0] > MAX_CHECK_ROWS and np.ndim(t) >= 1 and np.shape(t)[0] == X.shape[0]:
            X, t = X[:MAX_CHECK_ROWS], t[:MAX_CHECK_ROWS]  # keeps the judge fast; the check stays meaningful
        with np.errstate(all="ignore"):
            loss_fn.forward(model.forward(X), t)
            model.backward(loss_fn.backward())
            out = []
            linears = [layer for layer in model.layers if isinstance(layer, reference.Linear)]
            for k, layer in enumerate(linears):
                for name in ("W", "b"):
                    param = layer.params[name]
                    num = np.zeros_like(param)
                    for idx in np.ndindex(param.shape):
                        check_running()
                        orig = param[idx]
                        param[idx] = orig + h
                        plus = loss_fn.forward(model.forward(X), t)
                        param[idx] = orig - h
                        minus = loss_fn.forward(model.forward(X), t)
                        param[idx] = orig
                        num[idx] = (plus - minus) / (2 * h)
                    out.append((k, name, float(reference.relative_error(layer.grads[name], num))))
    except Exception as exc:  # the student's X/t do not fit their model or the loss
        raise AssertionError(
            f"参照実装で勾配チェックを実行できませんでした（{type(exc).__name__}）。"
            "モデル・X・t の形状と型を確認してください"
        ) from None
    return out
