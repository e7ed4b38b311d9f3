"""The release notebook's visible tests: checks a student runs in Jupyter, with Japanese messages.

`python -m autograder build` executes this module's code, with the other modules of
public/ (the judge's diagnosis and the feedback's pictures), into one namespace `nb74` in a hidden given cell of the notebook, so no name the
student defines (`sigmoid = Sigmoid()`) can break a check. The test cells call
`nb74.check_linear(Linear)` and so on.

A failing check raises `VisibleTestFailed`, whose `_render_traceback_` makes IPython show only the
Japanese message (at most MAX_LINES lines, no traceback through this code), after a picture of
the gradients (yours, the right one, the difference) where numbers differ. A part that uses
another (the MLP, the exercises) re-checks the parts it uses and names the one to fix first.
`install()` makes IPython show a NotImplementedError from a stub, in any cell, as one Japanese
line naming the method to implement, and a `+=` on a gradient that is still None likewise.

The expected values are central differences of the given forward (REFERENCE_FORWARD, the
notebook's own forward code), never of the student's forward: as in the judge, a changed
forward is reported, not graded against.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .findings import Finding
from .visible_common import (
    ACTIVATION_SEEDS,
    GRAD_TOL,
    PART_OF,
    VisibleTestFailed,
    as_array,
    call_backward,
    failed,
    ipython,
    method_name,
    not_implemented,
    numerical_gradient,
    passed,
    relative_error,
    student_call,
)
from .visible_common import install as install
from .visible_layers import (
    VISIBLE_LOSS_INPUTS,
    Subject,
    check_activation,
    check_linear,
    check_loss,
    compare,
)

# --- parts that use others: the MLP, the exercises ---


def recheck(cls: type) -> VisibleTestFailed | None:
    """The failure of cls's own visible test (quiet: no picture, no ✓ line), or None if it passes."""
    import contextlib
    import io

    name = cls.__name__
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            if name == "Linear":
                check_linear(cls)
            elif name in ACTIVATION_SEEDS:
                check_activation(cls)
            elif name in VISIBLE_LOSS_INPUTS:
                check_loss(cls)
            else:
                return None
    except VisibleTestFailed as exc:
        return exc
    return None


def blame(part: str, classes: Sequence[type]) -> VisibleTestFailed | None:
    """A failure naming the first used class whose own visible test fails, or whose two layers
    share state (the MLP's part), or None."""
    for cls in dict.fromkeys(classes):
        exc = recheck(cls)
        if exc is not None:
            method = PART_OF.get(cls.__name__, f"{cls.__name__}.backward")
            first = exc.lines[0] if exc.lines else ""
            return failed(
                part,
                f"原因は {method} です（{cls.__name__} の可視テストが不合格: {first}）。",
                f"まず {method} を直してください。{INDEPENDENT}",
                findings=exc.findings,
            )
    for cls in dict.fromkeys(classes):
        shared = shared_state(part, cls)
        if shared is not None:
            if part == MLP_PART:
                return shared
            return failed(
                part,
                f"原因は {MLP_TITLE} です（6.2 の可視テストが不合格）: {cls.__name__} の層を 2 つ作ると、状態を共有しています。",
                f"{SHARED}。{INDEPENDENT}",
                findings=shared.findings,
            )
    return None


INDEPENDENT = "採点ではこの部分は独立に採点されます（ほかの部分には正しい実装を使うので、二重には減点されません）。"
MLP_PART, MLP_TITLE = "MLP の逆伝播", "MLP の逆伝播（層の連結）"
SHARED = "2 つの層が状態を共有しています。キャッシュや勾配はクラス変数やグローバル変数ではなく、その層の self.cache / self.grads に保存してください"


def shared_state(part: str, cls: type) -> VisibleTestFailed | None:
    """Two layers of cls, forward both, backward the first: must be the first's gradient."""
    rng = np.random.default_rng(11)
    x1, x2 = rng.standard_normal((3, 4)) + 0.3, rng.standard_normal((3, 4)) - 0.3
    params = {"W": rng.standard_normal((4, 2)), "b": rng.standard_normal(2)} if cls.__name__ == "Linear" else None
    s = Subject(cls, params)
    dout = rng.standard_normal((3, 2) if params else (3, 4))
    try:  # a failure of the layer itself is its own visible test's to report
        a, b = s.new(), s.new()
        with student_call(part, f"{cls.__name__}.forward"):
            a.forward(x1)
            b.forward(x2)
        got = s.backward(a, dout)
    except VisibleTestFailed:
        return None
    exp = s.expected(x1, dout)
    if all(got[k].shape == e.shape and relative_error(got[k], e) <= GRAD_TOL for k, e in exp.items()):
        return None
    return failed(
        part,
        f"{cls.__name__} の層を 2 つ作り、1 つ目、2 つ目の順に forward してから 1 つ目の backward を呼ぶと、勾配が違います。",
        SHARED,
        findings=[Finding("shared_state", cls.__name__, SHARED)],
    )


def check_mlp(MLP: type, layer_dims: Sequence[int], activation: str, N: int, seed: int = 0) -> None:
    """層を MLP につないだときの逆伝播を数値勾配と比べる。違えば、使っている層の可視テストを調べ直し、
    直すべき層を伝える。"""
    part = MLP_PART
    rng = np.random.default_rng(seed)
    np.random.seed(seed)
    with student_call(part, "MLP"):
        model = MLP(list(layer_dims), activation=activation)
    classes = [type(layer) for layer in model.layers]
    X = rng.standard_normal((N, layer_dims[0]))
    dout = rng.standard_normal((N, layer_dims[-1]))
    case = f"MLP({list(layer_dims)}, '{activation}')"
    try:
        with student_call(part, "MLP.forward"):
            model.forward(X)
        dx = as_array(part, f"{case} の dx", call_backward(part, model.backward, dout.copy()))
        with student_call(part, "MLP.forward"):
            num_dx = numerical_gradient(lambda v: np.sum(model.forward(v) * dout), X)
        compare(part, f"{case} の dx", "dx", dx, num_dx, picture=False)
        with student_call(part, "MLP.forward"):
            model.forward(X)
        call_backward(part, model.backward, dout.copy())
        for i, (layer, name, param) in enumerate(model.get_params()):
            grad = as_array(part, f"{case} の {i} 番目のパラメータ {type(layer).__name__}.{name}", layer.grads[name])

            def loss(v: np.ndarray, layer: Any = layer, name: str = name) -> float:
                saved = layer.params[name]
                layer.params[name] = v
                out = float(np.sum(model.forward(X) * dout))
                layer.params[name] = saved
                return out

            with student_call(part, "MLP.forward"):
                expected = numerical_gradient(loss, param)
            compare(
                part,
                f"{case} の {i} 番目のパラメータ {type(layer).__name__}.{name}",
                f"d{name}",
                grad,
                expected,
                picture=False,
            )
    except VisibleTestFailed:
        cause = blame(part, classes)
        if cause is not None:
            raise cause from None
        raise
    for cls in dict.fromkeys(classes):  # two layers of a class may share state on other inputs
        shared = shared_state(part, cls) if recheck(cls) is None else None
        if shared is not None:
            raise shared
    passed(part, f"（{case}、N={N}）")


EXERCISES: dict[str, dict[str, Any]] = {
    "8.1": {"dims": [(2, 4), (4, 3)], "arch": "MLP([2, 4, 3])", "loss": "SoftmaxCrossEntropy", "inputs": 2},
    "8.2": {"dims": [(3, 8), (8, 8), (8, 4), (4, 1)], "arch": "MLP([3, 8, 8, 4, 1])", "loss": "MSELoss", "inputs": 3},
}


def last_cell_error() -> BaseException | None:
    """The exception the cell run last stopped with (in Jupyter / IPython; elsewhere None)."""
    shell = ipython()
    result = getattr(shell, "last_execution_result", None)
    return getattr(result, "error_in_exec", None) or getattr(result, "error_before_exec", None)


def check_exercise(section: str, ns: dict[str, Any]) -> None:
    """演習の可視テスト: 表の変数がそろい、形状が合い、勾配チェックに合格しているか（ns は globals()）。"""
    part = f"演習 {section}"
    spec, suffix = EXERCISES[section], section.replace(".", "")
    names = [f"{v}_{suffix}" for v in ("model", "loss", "X", "t", "passed")]
    missing = [n for n in names if n not in ns]
    if missing:
        error = last_cell_error()
        stub = method_name(error, "") if isinstance(error, NotImplementedError) else ""
        if stub:
            raise failed(
                part,
                f"演習 {section} の解答欄のセルが止まりました: {not_implemented(stub)}。",
                f"そのため変数 {', '.join(missing)} が作られていません。{stub} を実装してから、解答欄のセルとこのテストを実行し直してください。",
            )
        if isinstance(error, NotImplementedError):
            raise failed(
                part,
                f"演習 {section} の解答欄のセルが NotImplementedError で止まったため、変数 {', '.join(missing)} が作られていません。",
                "解答欄の raise NotImplementedError() を消して、表の変数を作ってください（先に backward を実装しておくと勾配チェックが通ります）。",
            )
        if error is not None:
            cause = blame(part, [ns[c] for c in PART_OF if isinstance(ns.get(c), type)])
            if cause is not None:
                raise cause from None
        if error is not None:
            detail = str(error).strip().splitlines()[0][:150] if str(error).strip() else ""
            raise failed(
                part,
                f"演習 {section} の解答欄のセルがエラー（{type(error).__name__}{': ' + detail if detail else ''}）で止まったため、"
                f"変数 {', '.join(missing)} が作られていません。",
                "解答欄のセルの出力でエラーの場所を確かめて直し、そのセルを実行し直してから、このテストを実行してください。",
            )
        raise failed(
            part,
            f"変数 {', '.join(missing)} がありません。演習 {section} の解答欄のセルを実行しましたか？",
            "表のとおりの名前で作ってください（解答欄のセルが途中でエラーで止まっていないかも確かめてください）。",
        )
    error = last_cell_error()
    if error is not None:  # the answer cell (run just before) stopped after making the variables
        detail = str(error).strip().splitlines()[0][:150] if str(error).strip() else ""
        raise failed(
            part,
            f"直前に実行したセル（ふつうは演習 {section} の解答欄）がエラー（{type(error).__name__}{': ' + detail if detail else ''}）で止まっています。",
            "採点では解答欄のセルが最後までエラーなく実行できることも確かめます。エラーを直して、解答欄のセルとこのテストを実行し直してください。",
        )
    model, loss_fn, X = ns[names[0]], ns[names[1]], ns[names[2]]
    dims = [layer.params["W"].shape for layer in getattr(model, "layers", []) if "W" in getattr(layer, "params", {})]
    if dims != spec["dims"]:
        raise failed(part, f"{names[0]} の重みの形状が {dims} です。{spec['arch']} なら {spec['dims']} です。")
    if type(loss_fn).__name__ != spec["loss"]:
        raise failed(part, f"{names[1]} は {spec['loss']}() にしてください（いまは {type(loss_fn).__name__}）。")
    if not (np.ndim(X) == 2 and np.shape(X)[1] == spec["inputs"] and np.shape(X)[0] >= 2):
        raise failed(part, f"{names[2]} の形状が {np.shape(X)} です。(N, {spec['inputs']})（N ≥ 2）にしてください。")
    if ns[names[4]] is not True:
        classes = [type(layer) for layer in model.layers] + [type(loss_fn)]
        cause = blame(part, classes)
        if cause is not None:
            raise cause from None
        raise failed(
            part,
            f"{names[4]} が True ではありません（{ns[names[4]]!r}）。",
            "勾配チェックの出力で、どのパラメータが NG かを確認してください（入力がすべて 0 など、折れ目の上の入力になっていませんか）。",
        )
    passed(part, "")
