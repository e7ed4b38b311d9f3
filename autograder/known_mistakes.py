"""The known mistakes of each class of the assignment: what they give on given inputs, and the
right formulas. Public, like autograder/diagnosis.py: the hidden graders use it on their inputs,
and the release notebook's visible tests (a given cell generated from both files by
`python -m autograder build`) on theirs, so a student sees the same diagnosis in Jupyter as in
the feedback.
"""

from __future__ import annotations

import numpy as np

from autograder.diagnosis import Alternative, Dims

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
    return Dims(n, D=width)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # no exp to overflow


def alternatives(
    class_name: str,
    x: np.ndarray,
    dout: np.ndarray | None = None,
    W: np.ndarray | None = None,
    t: np.ndarray | None = None,
) -> dict[str, list[Alternative]]:
    """What each known mistake of the class gives for the input x (a loss: the logits or
    predictions, with targets t), upstream gradient dout and weights W, by gradient key."""
    if class_name == "Linear" and W is not None and dout is not None and W.shape[0] == W.shape[1]:
        return {"dx": [Alternative("transposed", "dout @ W（W の転置 W.T を使っていません）", dout @ W)]}
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
                Alternative("wrong_derivative", "dout · (1 − y)", dout * (1 - y)),
                Alternative("wrong_derivative", "dout · y²", dout * y**2),
                Alternative("wrong_derivative", "dout · (1 − y²)（Tanh の微分です）", dout * (1 - y**2)),
                Alternative(
                    "wrong_derivative",
                    "dout · σ(y)(1 − σ(y))（キャッシュした出力 y にもう一度 σ を掛けています）",
                    dout * sigmoid(y) * (1 - sigmoid(y)),
                ),
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
            ]
        }
    return {}
