"""The known mistakes of each class of the assignment: what they give on given inputs, and the
right formulas. Public, like public/diagnosis.py: the hidden graders use it on their inputs,
and the release notebook's visible tests (a given cell generated from both files by
`python -m autograder build`) on theirs, so a student sees the same diagnosis in Jupyter as in
the feedback.
"""

from __future__ import annotations

import numpy as np

from .findings import Alternative, Dims

# the right gradient of each class, by gradient key ("W" is dW = grads['W'])
FORMULAS: dict[str, dict[str, str]] = {
    "Linear": {"W": "x.T @ dout", "b": "np.sum(dout, axis=0)", "dx": "dout @ W.T"},
    "Sigmoid": {"dx": "dout * y * (1 - y)"},
    "ReLU": {"dx": "dout * (x > 0)"},
    "Tanh": {"dx": "dout * (1 - y**2)"},
    "MSELoss": {"dL/dy": "2 * (y - t) / (N * D)"},
    "SoftmaxCrossEntropy": {"dL/dx": "(p - t) / N"},
}


def sizes(class_name: str, x: np.ndarray, W: np.ndarray | None = None) -> Dims:
    """N, and D (a layer's output width, MSE's columns) or C (classes), of the inputs."""
    n, width = int(np.shape(x)[0]), int(np.shape(x)[-1])
    if class_name == "Linear" and W is not None:
        return Dims(n, D=int(np.shape(W)[1]))
    if class_name == "SoftmaxCrossEntropy":
        return Dims(n, C=width)
    if class_name == "MSELoss":
        return Dims(n, D=width, squares=True)
    return Dims(n, D=width)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # no exp to overflow


def reduced_dout(dout: np.ndarray, slope: np.ndarray, name: str) -> list[Alternative]:
    """An activation's dout summed or averaged over the batch before the derivative is applied
    (the habit of Linear's db): every sample then gets the batch's upstream gradient."""
    if len(dout) < 2:
        return []
    return [
        Alternative(
            "batch_reduction",
            f"np.sum(dout, axis=0) · {name}（dout をバッチ方向に和にしています）",
            dout.sum(axis=0) * slope,
        ),
        Alternative(
            "batch_reduction",
            f"np.mean(dout, axis=0) · {name}（dout をバッチ方向に平均しています）",
            dout.mean(axis=0) * slope,
        ),
    ]


def alternatives(
    class_name: str,
    x: np.ndarray,
    dout: np.ndarray | None = None,
    W: np.ndarray | None = None,
    t: np.ndarray | None = None,
) -> dict[str, list[Alternative]]:
    """What each known mistake of the class gives for the input x (a loss: the logits or
    predictions, with targets t), upstream gradient dout and weights W, by gradient key."""
    if class_name == "Linear" and W is not None and dout is not None:
        n = len(x)
        return {
            "W": [
                Alternative(
                    "batch_reduction",
                    "np.outer(np.sum(x, axis=0), np.sum(dout, axis=0))（x と dout を先にバッチ方向に和にしています）",
                    np.outer(x.sum(axis=0), dout.sum(axis=0)),
                ),
                Alternative(
                    "batch_reduction",
                    "np.outer(np.mean(x, axis=0), np.mean(dout, axis=0))（x と dout を先にバッチ方向に平均しています）",
                    np.outer(x.mean(axis=0), dout.mean(axis=0)),
                ),
            ],
            "b": [
                Alternative(
                    "batch_reduction", "dout[0]（バッチの最初の 1 行だけで、全サンプルの和になっていません）", dout[0]
                ),
                Alternative(
                    "batch_reduction", "dout[-1]（バッチの最後の 1 行だけで、全サンプルの和になっていません）", dout[-1]
                ),
            ]
            if n > 1
            else [],
            "dx": [Alternative("transposed", "dout @ W（W の転置 W.T を使っていません）", dout @ W)]
            if W.shape[0] == W.shape[1]
            else [],
        }
    if class_name == "Sigmoid" and dout is not None:
        y = sigmoid(x)
        return {
            "dx": [
                Alternative("ignores_dout", "y(1 − y)（dout を掛けていません）", y * (1 - y)),
                Alternative("wrong_derivative", "dout（σ'(x) = y(1 − y) を掛けていません）", dout),
                Alternative(
                    "wrong_derivative", "dout · x(1 − x)（出力 y ではなく入力 x を使っています）", dout * x * (1 - x)
                ),
                Alternative("wrong_derivative", "dout · y(1 + y)", dout * y * (1 + y)),
                Alternative("wrong_derivative", "dout · (1 − y)（y を掛け忘れています）", dout * (1 - y)),
                Alternative("wrong_derivative", "dout · y（(1 − y) を掛け忘れています）", dout * y),
                Alternative("wrong_derivative", "dout · y²", dout * y**2),
                Alternative("wrong_derivative", "dout · (1 − y²)（Tanh の微分です）", dout * (1 - y**2)),
                Alternative(
                    "wrong_derivative",
                    "dout · σ(y)(1 − σ(y))（キャッシュした出力 y にもう一度 σ を掛けています）",
                    dout * sigmoid(y) * (1 - sigmoid(y)),
                ),
                *reduced_dout(dout, y * (1 - y), "y(1 − y)"),
            ]
        }
    if class_name == "Tanh" and dout is not None:
        y = np.tanh(x)
        return {
            "dx": [
                Alternative("ignores_dout", "1 − y²（dout を掛けていません）", 1 - y**2),
                Alternative("wrong_derivative", "dout（tanh'(x) = 1 − y² を掛けていません）", dout),
                Alternative("wrong_derivative", "dout · (1 − y)（y を 2 乗していません）", dout * (1 - y)),
                Alternative(
                    "wrong_derivative", "dout · (1 − x²)（出力 y ではなく入力 x を使っています）", dout * (1 - x**2)
                ),
                Alternative("wrong_derivative", "dout · y(1 − y)（Sigmoid の微分です）", dout * y * (1 - y)),
                Alternative("wrong_derivative", "dout · (1 + y²)", dout * (1 + y**2)),
                Alternative("wrong_derivative", "dout · y²", dout * y**2),
                Alternative("wrong_derivative", "dout · (1 + y)（(1 − y) を掛け忘れています）", dout * (1 + y)),
                Alternative(
                    "wrong_derivative", "dout · (1 − y)²（1 − y² ではなく (1 − y) の 2 乗です）", dout * (1 - y) ** 2
                ),
                Alternative(
                    "wrong_derivative",
                    "dout · (1 − tanh(y)²)（キャッシュした出力 y にもう一度 tanh を掛けています）",
                    dout * (1 - np.tanh(y) ** 2),
                ),
                *reduced_dout(dout, 1 - y**2, "(1 − y²)"),
            ]
        }
    if class_name == "ReLU" and dout is not None:
        return {
            "dx": [
                Alternative("ignores_dout", "1[x > 0]（マスクだけで dout を掛けていません）", (x > 0).astype(float)),
                Alternative("relu_mask", "dout（マスク 1[x > 0] を掛けていません）", dout),
                Alternative("relu_mask", "dout · 1[x ≤ 0]（マスクが逆です）", dout * (x <= 0)),
                Alternative(
                    "relu_mask",
                    "dout · 1[dout > 0]（マスクを x ではなく dout の符号から作っています）",
                    dout * (dout > 0),
                ),
                Alternative(
                    "relu_mask",
                    "dout · y（マスク 1[x > 0] ではなく出力 y = max(0, x) を掛けています）",
                    dout * np.maximum(0, x),
                ),
                *reduced_dout(dout, (x > 0).astype(float), "1[x > 0]"),
            ]
        }
    if class_name == "SoftmaxCrossEntropy" and t is not None:
        n, c = x.shape
        t = np.asarray(t)
        onehot = t if t.ndim == 2 else np.eye(c)[t.astype(int)]
        e = np.exp(x - x.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            wrt_p = -onehot / p / n
        return {
            "dL/dx": [
                Alternative(
                    "wrong_derivative",
                    "(p − t) · p(1 − p) / N（Sigmoid の微分を掛けています）",
                    (p - onehot) * p * (1 - p) / n,
                ),
                Alternative("wrong_derivative", "−t / (N·p)（ロジット x ではなく確率 p についての勾配です）", wrt_p),
                Alternative("wrong_derivative", "p / N（正解 t を引いていません）", p / n),
                Alternative("wrong_derivative", "p（正解 t を引かず、N でも割っていません）", p),
                Alternative(
                    "wrong_derivative",
                    "(p − 1) / N（one-hot の t ではなく、すべての要素から 1 を引いています）",
                    (p - 1) / n,
                ),
            ]
        }
    if class_name == "MSELoss" and t is not None:
        t = np.asarray(t, dtype=np.float64)
        return {
            "dL/dy": [
                Alternative(
                    "wrong_derivative",
                    "(y − t)² / (N·D)（損失の各項のままで、微分していません）",
                    (x - t) ** 2 / x.size,
                ),
                Alternative("wrong_derivative", "2(y − t)² / (N·D)（2 乗が残っています）", 2 * (x - t) ** 2 / x.size),
            ]
        }
    return {}
