"""Reference implementation of nb74_matrix_backprop.

Generated from the source notebook by `python -m autograder build`; do not edit.
"""
# --- cell given_imports ---
# 環境セットアップ（計算に使うもの）
import numpy as np
from abc import ABC, abstractmethod

np.random.seed(42)


# --- cell given_diagnosis ---
from autograder.diagnosis import *  # noqa: F403
from autograder.known_mistakes import *  # noqa: F403


# --- cell given_checks ---
# 可視テスト用のチェック関数（編集不要）
# 中心差分で数値勾配を求め、あなたの backward の結果と比べます。

# 合格の基準（可視テスト・勾配チェック・採点で共通、7.1 節）:
# 最大絶対値で正規化した相対誤差（relative_error）が GRAD_TOL 以下
GRAD_TOL = 1e-5
# 同じ forward の後の 2 回目の backward に渡す dout の倍率（結果もこの倍率になるはず）
REPEAT_FACTOR = -2.0


def numerical_gradient(f, x, h=1e-6):
    # スカラー関数 f(x) の x に関する数値勾配（中心差分）。x 自体は変更しない。
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        original = x[idx]
        x[idx] = original + h
        f_plus = f(x)
        x[idx] = original - h
        f_minus = f(x)
        x[idx] = original
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad


def relative_error(a, b):
    # 最大絶対値で正規化した相対誤差: max|a - b| / max(max|a|, max|b|)
    # （要素ごとに割ると、勾配が 0 に近い成分で正しい実装でも誤差が大きく見えるため）
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.size == 0:
        return 0.0
    scale = max(np.max(np.abs(a)), np.max(np.abs(b)))
    if scale == 0.0:
        return 0.0
    return float(np.max(np.abs(a - b)) / scale)


def call_backward(backward, *args):
    # backward(*args) を呼ぶ。未実装のまま（NotImplementedError）なら、どのクラスのどのメソッドかを
    # 日本語の AssertionError で知らせる（MLP 経由なら、例外を投げた一番内側の層の名前）
    try:
        return backward(*args)
    except NotImplementedError as exc:
        name, tb = getattr(backward, '__qualname__', 'backward'), exc.__traceback__
        while tb is not None:
            owner = tb.tb_frame.f_locals.get('self')
            if owner is not None:
                name = f"{type(owner).__name__}.{tb.tb_frame.f_code.co_name}"
            tb = tb.tb_next
        raise AssertionError(f"{name} はまだ実装されていません"
                             "（raise NotImplementedError() を消して実装してください）") from None


def is_close(got, expected, tol=GRAD_TOL):
    # 形状が同じで、有限で、相対誤差が tol 以下か（ヒントを選ぶため）
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    expected = np.asarray(expected, dtype=np.float64)
    return got.shape == expected.shape and bool(np.all(np.isfinite(got))) and relative_error(got, expected) <= tol


def diagnosis_of(class_name, key, expected, x, dout=None, W=None, t=None):
    # 採点と同じ見立て（上の「勾配の見立て」のセル）: 違う勾配 got がどの間違いに当たるかの説明を返す関数
    quantity = key if key.startswith('d') else f"d{key}"

    def why(got):
        found = diagnose(quantity, got, np.asarray(expected, dtype=np.float64), sizes(class_name, x, W),
                         FORMULAS.get(class_name, {}).get(key, ''),
                         alternatives(class_name, x, dout, W, t).get(key, []))
        return "".join(f"。見立て: {f.message.rstrip('。')}" for f in found)

    return why


def assert_gradient(name, got, expected, tol=GRAD_TOL, hints=(), why=None):
    # got（あなたの勾配）を expected（数値勾配）と比べ、違えば理由を日本語で示す
    # hints: (よくある間違いの答え, その意味) の組。got がそれに一致すれば意味を伝える
    # why: 違ったときの見立て（diagnosis_of が返す関数）
    expected = np.asarray(expected, dtype=np.float64)
    if got is None:
        raise AssertionError(f"{name} が None です。backward で計算してください。")
    got = np.asarray(got, dtype=np.float64)
    if got.shape != expected.shape:
        hint = "（転置になっていませんか？）" if got.shape == expected.T.shape and not why else ""
        told = why(got) if why is not None else ""
        raise AssertionError(f"{name} の形状が違います: 期待 {expected.shape}, 実際 {got.shape}{hint}{told}")
    bad = ~np.isfinite(got)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        told = why(got) if why is not None else ""
        raise AssertionError(f"{name} に NaN または inf が含まれています（位置 {idx}）。オーバーフローしていませんか？{told}")
    err = relative_error(got, expected)
    if err > tol:
        idx = tuple(int(i) for i in np.unravel_index(np.argmax(np.abs(got - expected)), got.shape))
        msg = (f"{name} の値が違います: 最大相対誤差 {err:.2e}（許容 {tol:.0e}）。"
               f"位置 {idx} で 期待 {expected[idx]:.6g}, 実際 {got[idx]:.6g}")
        for candidate, meaning in hints:
            if is_close(got, candidate):
                raise AssertionError(f"{msg}。{meaning}")
        told = why(got) if why is not None else ""
        if told:
            raise AssertionError(msg + told)
        nonzero = np.abs(expected) > 1e-3 * np.max(np.abs(expected))
        if nonzero.any():
            ratio = got[nonzero] / expected[nonzero]
            if np.allclose(ratio, ratio[0], rtol=1e-3) and abs(ratio[0] - 1) > 1e-3:
                msg += f"。全体が定数倍（約 {ratio[0]:.4g} 倍）ずれています。平均の取り方（1/N など）を確認してください"
        raise AssertionError(msg)


# --- backward の 3 つの決まり（採点でも確かめます） ---
# dout を書き換えない / 直前の forward のキャッシュを使う / grads は足し込まずに代入する

STALE = ("1 回目の forward（または 1 回目の backward）のときの値を使っています。"
         "backward では毎回、直前の forward のキャッシュから計算してください")
SUMMED = "1 回目と 2 回目の勾配の和になっています。grads には += で足し込まず、代入してください"
ACCUMULATED = "前の backward の勾配に足し込んでいます。grads には += で足し込まず、代入してください"
KEPT = "1 回目の値のままです。毎回計算し直してください"


def snapshot(value):
    # 後の backward が同じ配列を書き換えても変わらない写し（配列でなければそのまま）
    if value is None:
        return None
    try:
        return np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        return value


def result_name(obj, key, result='dx'):
    # 採点と同じ呼び方: 戻り値は「Linear.backward の戻り値 dx」、勾配は「dW = Linear.grads['W']」
    cls = type(obj).__name__
    return f"{cls}.backward の戻り値 {result}" if key == result else f"d{key} = {cls}.grads['{key}']"


def layer_gradients(make_layer, x, dout):
    # L = sum(forward(x) * dout) の x と各パラメータに関する数値勾配（新しく作った層で）
    layer = make_layer()
    values = {k: np.array(v, dtype=np.float64) for k, v in layer.params.items()}

    def loss(x_, **override):
        for k in values:
            layer.params[k] = override.get(k, values[k])
        return np.sum(layer.forward(x_) * dout)

    out = {'dx': numerical_gradient(loss, x)}
    for k in values:
        out[k] = numerical_gradient(lambda v, k=k: loss(x, **{k: v}), values[k])
    return out


def layer_backward(layer, dout):
    # backward(dout) を呼び、{dx, 各パラメータの勾配} の写しを返す。dout が書き換えられていれば不合格
    sent = np.array(dout, dtype=np.float64)
    arg = sent.copy()
    got = {'dx': snapshot(call_backward(layer.backward, arg))}
    if not (isinstance(arg, np.ndarray) and arg.shape == sent.shape and np.array_equal(arg, sent)):
        raise AssertionError(f"{type(layer).__name__}.backward が引数 dout をその場で書き換えています"
                             "（dout *= ... や dout[...] = ... など）。上流の勾配は他の層でも使われるので、"
                             "新しい配列を作って返してください")
    for k in layer.params:
        got[k] = snapshot(layer.grads.get(k))
    return got


def check_latest_cache(obj, got, expected, stale, shape_of, result='dx'):
    # 別の入力で forward し直した後の backward が、その新しい入力での勾配になっているか
    for key, exp in expected.items():
        hints = [(stale[key], STALE)]
        if key != result and got[key] is not None and np.shape(got[key]) == np.shape(exp):
            hints.insert(0, (stale[key] + exp, SUMMED))
        assert_gradient(f"forward → backward → 別の入力で forward → backward としたときの "
                        f"{result_name(obj, key, result)}（形状 {shape_of[key]}）", got[key], exp, hints=hints)


def check_repeat(obj, first, second, expected, factor, result='dx'):
    # 同じ forward の後にもう一度 backward（dout は factor 倍）: 結果も factor 倍になるか
    for key, exp in expected.items():
        what = f"同じ forward の後に backward を 2 回呼んだときの 2 回目の {result_name(obj, key, result)}" + (
            "（1 回目と同じになるはずです）" if factor == 1
            else f"（2 回目の dout は 1 回目の {factor:g} 倍なので、{factor:g} 倍になるはずです）")
        hints = [(first[key], KEPT)] if factor != 1 else []
        if key != result and first[key] is not None and np.shape(first[key]) == np.shape(exp):
            hints = [(first[key] + factor * exp, ACCUMULATED), ((1 + factor) * first[key], ACCUMULATED)] + hints
        try:
            assert_gradient(what, second[key], factor * exp, hints=hints)
        except AssertionError as exc:
            if any(meaning in str(exc) for _, meaning in hints):
                raise
            if key != result:
                why = f"grads['{key}'] に前の値を足し込んだり、前の値を使い回したりしていないか"
            elif factor == 1:
                why = "backward が self.cache の配列をその場で書き換えていないか（p -= t、p[...] -= 1 など）"
            else:
                why = ("backward が self.cache の配列をその場で書き換えていないか（y *= ... など）、"
                       "dx が dout に比例しているか（dout に f'(x) を掛けるだけのはずです）")
            raise AssertionError(f"{exc}。{why}を確認してください") from None


def check_layer(make_layer, x, x2, dout, label):
    # 層の backward を、forward(x) → backward → forward(x2) → backward → backward(REPEAT_FACTOR·dout) で確かめる
    x, x2 = np.asarray(x, dtype=np.float64), np.asarray(x2, dtype=np.float64)
    expected, expected2 = layer_gradients(make_layer, x, dout), layer_gradients(make_layer, x2, dout)
    layer = make_layer()
    shapes = {'dx': x.shape, **{k: np.shape(v) for k, v in layer.params.items()}}
    W = layer.params.get('W')
    layer.forward(x)
    first = layer_backward(layer, dout)
    for key, exp in expected.items():
        why = diagnosis_of(type(layer).__name__, key, exp, x, dout, W)
        assert_gradient(f"{result_name(layer, key)}{label}", first[key], exp, why=why)
    layer.forward(x2)
    latest = layer_backward(layer, dout)
    check_latest_cache(layer, latest, expected2, expected, shapes)
    check_repeat(layer, latest, layer_backward(layer, REPEAT_FACTOR * dout), expected2, REPEAT_FACTOR)


def check_linear(Linear, shapes=((4, 3, 2),), seed=0):
    # Linear.backward を (N, D_in, D_out) の各形状で数値勾配と比べ、backward の決まりも確かめる
    rng = np.random.default_rng(seed)
    for N, D_in, D_out in shapes:
        W = rng.standard_normal((D_in, D_out))
        b = rng.standard_normal(D_out)
        x = rng.standard_normal((N, D_in))
        dout = rng.standard_normal((N, D_out))
        x2 = rng.standard_normal((N, D_in))  # 2 回目の forward の入力

        def make_layer():
            layer = Linear(D_in, D_out)
            layer.params['W'], layer.params['b'] = W.copy(), b.copy()
            return layer

        check_layer(make_layer, x, x2, dout, f"（N={N}, D_in={D_in}, D_out={D_out}）")


def check_activation(layer_class, x, seed=0):
    # 活性化層の backward を数値勾配と比べ（x は入力）、backward の決まりも確かめる
    rng = np.random.default_rng(seed)
    x = np.asarray(x, dtype=np.float64)
    dout = rng.standard_normal(x.shape)
    # 2 回目の forward の入力: 符号がすべて逆（ReLU のマスクが全部変わる）で大きさも違う（σ', tanh' も変わる）
    check_layer(layer_class, x, -0.7 * x, dout, f"（形状 {x.shape}）")


LOSS_RESULT = {'SoftmaxCrossEntropy': 'dL/dx'}  # 損失の backward の戻り値の名前（ほかは dL/dy）


def check_loss(loss_class, y, t):
    # 損失関数の backward（dL/dy）を数値勾配と比べ、backward の決まりも確かめる
    y = np.asarray(y, dtype=np.float64)
    y2 = -0.7 * y  # 2 回目の forward の入力
    result = LOSS_RESULT.get(loss_class.__name__, 'dL/dy')
    expected = {result: numerical_gradient(lambda v: loss_class().forward(v, t), y)}
    expected2 = {result: numerical_gradient(lambda v: loss_class().forward(v, t), y2)}
    loss_fn = loss_class()
    loss_fn.forward(y, t)
    first = {result: snapshot(call_backward(loss_fn.backward))}
    why = diagnosis_of(loss_class.__name__, result, expected[result], y, t=np.asarray(t))
    assert_gradient(f"{result_name(loss_fn, result, result)}（形状 {y.shape}）", first[result], expected[result], why=why)
    loss_fn.forward(y2, t)
    latest = {result: snapshot(call_backward(loss_fn.backward))}
    check_latest_cache(loss_fn, latest, expected2, expected, {result: y.shape}, result)
    again = {result: snapshot(call_backward(loss_fn.backward))}
    check_repeat(loss_fn, latest, again, expected2, 1, result)


# --- 演習の可視テスト用 ---

def last_cell_error():
    # 直前に実行したセルが例外で止まっていれば、その例外（Jupyter / IPython の上で。ほかでは None）
    try:
        result = get_ipython().last_execution_result
    except (NameError, AttributeError):
        return None
    return getattr(result, 'error_in_exec', None) or getattr(result, 'error_before_exec', None)


def check_exercise_variables(section, names):
    # 演習の変数がそろっているか。解答欄のセルがエラーで止まっていたら、そう伝える
    missing = [name for name in names if name not in globals()]
    if not missing:
        return
    error = last_cell_error()
    if error is not None:
        detail = str(error).strip()[:200]
        raise AssertionError(
            f"演習 {section} の解答欄のセルがエラー（{type(error).__name__}{': ' + detail if detail else ''}）"
            f"で止まったため、変数 {', '.join(missing)} が作られていません。"
            "解答欄のセルの出力でエラーの場所を確かめて直し、そのセルを実行し直してから、このテストを実行してください。")
    raise AssertionError(
        f"変数 {', '.join(missing)} がありません。演習 {section} の解答欄のセルを実行しましたか？"
        "表のとおりの名前で作ってください（解答欄のセルが途中でエラーで止まっていないかも確かめてください）。")


# --- cell given_layer ---
class Layer(ABC):
    """
    ニューラルネットワーク層の基底クラス
    """
    
    def __init__(self):
        self.params = {}    # 学習パラメータ
        self.grads = {}     # パラメータの勾配
        self.cache = {}     # 逆伝播用のキャッシュ
    
    @abstractmethod
    def forward(self, x):
        """順伝播"""
        pass
    
    @abstractmethod
    def backward(self, dout):
        """逆伝播: 上流の勾配 dout を受け取り、下流への勾配を返す"""
        pass


# --- cell linear ---
class Linear(Layer):
    """
    全結合層（線形変換）: Y = XW + b
    
    Args:
        in_features: 入力次元
        out_features: 出力次元
    """
    
    def __init__(self, in_features, out_features):
        super().__init__()
        
        # Xavier初期化
        scale = np.sqrt(2.0 / (in_features + out_features))
        self.params['W'] = np.random.randn(in_features, out_features) * scale
        self.params['b'] = np.zeros(out_features)
        
        self.grads['W'] = None
        self.grads['b'] = None
    
    def forward(self, x):
        """
        順伝播: Y = XW + b
        
        Args:
            x: 入力 (N, in_features)
        Returns:
            出力 (N, out_features)
        """
        self.cache['x'] = x  # 逆伝播で使う
        return x @ self.params['W'] + self.params['b']
    
    def backward(self, dout):
        """
        逆伝播
        
        Args:
            dout: 上流からの勾配 (N, out_features)
        Returns:
            下流への勾配 (N, in_features)
        """
        x = self.cache['x']
        
        # 勾配の計算
        self.grads['W'] = x.T @ dout          # (in, N) @ (N, out) = (in, out)
        self.grads['b'] = np.sum(dout, axis=0) # (out,)
        
        # 下流への勾配
        dx = dout @ self.params['W'].T         # (N, out) @ (out, in) = (N, in)
        
        return dx


# --- cell sigmoid ---
class Sigmoid(Layer):
    """
    シグモイド活性化関数: y = 1 / (1 + exp(-x))
    
    逆伝播: dx = dout * y * (1 - y)
    """
    
    def forward(self, x):
        # 数値安定性のための実装（exp の引数は常に 0 以下）
        e = np.exp(-np.abs(x))
        y = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        self.cache['y'] = y
        return y
    
    def backward(self, dout):
        y = self.cache['y']
        return dout * y * (1 - y)


# --- cell relu ---
class ReLU(Layer):
    """
    ReLU活性化関数: y = max(0, x)
    
    逆伝播: dx = dout * (x > 0)（x = 0 では微分が定義されないので、x >= 0 のマスクでもよい）
    """
    
    def forward(self, x):
        self.cache['mask'] = (x > 0).astype(float)
        return np.maximum(0, x)
    
    def backward(self, dout):
        return dout * self.cache['mask']


# --- cell tanh ---
class Tanh(Layer):
    """
    Tanh活性化関数: y = tanh(x)
    
    逆伝播: dx = dout * (1 - y²)
    """
    
    def forward(self, x):
        y = np.tanh(x)
        self.cache['y'] = y
        return y
    
    def backward(self, dout):
        y = self.cache['y']
        return dout * (1 - y ** 2)


# --- cell mse ---
class MSELoss:
    """
    平均二乗誤差損失: L = (1/(N·D)) * Σ(y - t)²   （全要素の平均）
    
    逆伝播: dL/dy = (2/(N·D)) * (y - t)
    """
    
    def __init__(self):
        self.cache = {}
    
    def forward(self, y, t):
        """
        Args:
            y: 予測値 (N, D)
            t: 正解値 (N, D)
        Returns:
            損失（スカラー）
        """
        self.cache['y'] = y
        self.cache['t'] = t
        self.cache['N'] = y.shape[0]
        
        loss = np.mean((y - t) ** 2)
        return loss
    
    def backward(self):
        """
        Returns:
            dL/dy (N, D)
        """
        y = self.cache['y']
        t = self.cache['t']
        
        return 2 * (y - t) / y.size


# --- cell softmax_ce ---
class SoftmaxCrossEntropy:
    """
    Softmax + CrossEntropy 損失（分類問題用）
    
    Softmax: p_nc = exp(x_nc) / Σ_j exp(x_nj)   （サンプル n ごと）
    CrossEntropy: L = -(1/N) Σ_n Σ_c t_nc * log(p_nc)   （バッチの平均）
    
    逆伝播: dL/dx = (p - t) / N（平均なので 1/N が付く）
    """
    
    def __init__(self):
        self.cache = {}
    
    def _softmax(self, x):
        """数値安定性を考慮したSoftmax"""
        x_shifted = x - np.max(x, axis=1, keepdims=True)
        exp_x = np.exp(x_shifted)
        return exp_x / np.sum(exp_x, axis=1, keepdims=True)
    
    def forward(self, x, t):
        """
        Args:
            x: ロジット (N, C) - Softmax前の値
            t: 正解ラベル (N, C) - one-hot または (N,) - クラスインデックス
        Returns:
            損失（スカラー）
        """
        N = x.shape[0]
        
        # one-hot変換（必要な場合）
        if t.ndim == 1:
            t_onehot = np.zeros(x.shape)
            t_onehot[np.arange(N), t] = 1
            t = t_onehot
        
        p = self._softmax(x)
        self.cache['p'] = p
        self.cache['t'] = t
        self.cache['N'] = N
        
        # クロスエントロピー: -(1/N) Σ t * log(p)（バッチの平均）。log p は log-sum-exp で安定に計算
        x_shifted = x - np.max(x, axis=1, keepdims=True)
        log_p = x_shifted - np.log(np.sum(np.exp(x_shifted), axis=1, keepdims=True))
        loss = -np.sum(t * log_p) / N
        return loss
    
    def backward(self):
        p = self.cache['p']
        t = self.cache['t']
        N = self.cache['N']
        
        # dL/dx = (p - t) / N
        return (p - t) / N


# --- cell given_mlp ---
class MLP:
    """
    多層パーセプトロン（Multi-Layer Perceptron）
    
    NumPyのみで構築した、順伝播・逆伝播が可能なニューラルネットワーク
    """
    
    def __init__(self, layer_dims, activation='relu'):
        """
        Args:
            layer_dims: 各層の次元リスト [入力, 隠れ1, 隠れ2, ..., 出力]
            activation: 活性化関数 ('relu', 'sigmoid', 'tanh')
        """
        self.layers = []
        
        # 活性化関数の選択
        activation_class = {
            'relu': ReLU,
            'sigmoid': Sigmoid,
            'tanh': Tanh
        }[activation]
        
        # 層の構築
        for i in range(len(layer_dims) - 1):
            # 線形層
            self.layers.append(Linear(layer_dims[i], layer_dims[i+1]))
            
            # 最後の層以外は活性化関数を追加
            if i < len(layer_dims) - 2:
                self.layers.append(activation_class())
    
    def forward(self, x):
        """順伝播"""
        for layer in self.layers:
            x = layer.forward(x)
        return x
    
    def backward(self, dout):
        """逆伝播"""
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout
    
    def get_params(self):
        """全パラメータを取得"""
        params = []
        for layer in self.layers:
            if hasattr(layer, 'params'):
                for name, param in layer.params.items():
                    params.append((layer, name, param))
        return params
    
    def get_grads(self):
        """全勾配を取得"""
        grads = []
        for layer in self.layers:
            if hasattr(layer, 'grads'):
                for name, grad in layer.grads.items():
                    grads.append((layer, name, grad))
        return grads
    
    def zero_grad(self):
        """勾配をゼロにリセット"""
        for layer in self.layers:
            if hasattr(layer, 'grads'):
                for name in layer.grads:
                    layer.grads[name] = None


# --- cell given_gradient_check ---
def layer_names(model):
    """各層の名前「クラス名[同じクラスの中での番号]」（Linear[0], Tanh[0], Linear[1], ...）"""
    counts, names = {}, []
    for layer in model.layers:
        cls = type(layer).__name__
        names.append(f"{cls}[{counts.get(cls, 0)}]")
        counts[cls] = counts.get(cls, 0) + 1
    return names


def backward_shape_error(model, loss_fn, X, t):
    """順伝播・逆伝播を 1 層ずつ行う。返ってきた勾配の形状が合わない層があれば、その説明（なければ None）"""
    names, inputs, y = layer_names(model), [], X
    for layer in model.layers:
        inputs.append(np.shape(y))
        y = layer.forward(y)
    loss_fn.forward(y, t)
    dout = loss_fn.backward()
    if dout is None or np.shape(dout) != np.shape(y):
        got = "None" if dout is None else f"形状 {np.shape(dout)} の勾配"
        return f"{type(loss_fn).__name__}.backward が {got} を返しました（期待: 予測 y と同じ形状 {np.shape(y)}）"
    for k in reversed(range(len(model.layers))):
        dout = model.layers[k].backward(dout)
        if dout is None or np.shape(dout) != inputs[k]:
            got = "None" if dout is None else f"形状 {np.shape(dout)} の dx"
            return f"{names[k]}.backward が {got} を返しました（期待: その層の入力 x と同じ形状 {inputs[k]}）"
    return None


def grad_shape_error(label, name, grad, param):
    """grads[name] が params[name] と同じ形状の配列でなければ、その説明（よければ None）"""
    if grad is None:
        return f"{label} の grads['{name}'] が None です（backward で代入していますか？）"
    if np.shape(grad) != np.shape(param):
        hint = "（転置になっていませんか？）" if np.shape(grad) == np.shape(param)[::-1] else ""
        return (f"{label} の grads['{name}'] の形状が {np.shape(grad)} です"
                f"（期待: params['{name}'] と同じ {np.shape(param)}）{hint}")
    return None


def numerical_gradient_check(model, loss_fn, X, t, h=1e-5):
    """
    数値微分と解析的勾配を比較して検証（合格の基準: 相対誤差 ≤ GRAD_TOL、7.1 節）
    """
    print("\n【勾配チェック】")
    print("="*70)
    
    # 解析的勾配を計算（形状が合わない層があれば、どの層がどの形状を返したかを示して終える）
    error = backward_shape_error(model, loss_fn, X, t)
    if error is not None:
        print(f"✗ NG {error}")
        print("="*70)
        print("警告: 逆伝播の形状が合わないため、勾配チェックができません")
        return False
    
    all_passed = True
    names = dict(zip(map(id, model.layers), layer_names(model)))
    
    for layer, name, param in model.get_params():
        label = f"{names.get(id(layer), type(layer).__name__)}.{name}"  # 例: Linear[1].W
        analytical_grad = layer.grads.get(name)
        error = grad_shape_error(label, name, analytical_grad, param)
        if error is not None:
            print(f"{label}: ✗ NG {error}")
            all_passed = False
            continue
        numerical_grad = np.zeros_like(param)
        
        # 数値微分
        it = np.nditer(param, flags=['multi_index'], op_flags=['readwrite'])
        while not it.finished:
            idx = it.multi_index
            original = param[idx]
            
            # +h
            param[idx] = original + h
            y_plus = model.forward(X)
            loss_plus = loss_fn.forward(y_plus, t)
            
            # -h
            param[idx] = original - h
            y_minus = model.forward(X)
            loss_minus = loss_fn.forward(y_minus, t)
            
            # 数値勾配
            numerical_grad[idx] = (loss_plus - loss_minus) / (2 * h)
            
            # 元に戻す
            param[idx] = original
            it.iternext()
        
        # 相対誤差（勾配全体の最大絶対値で正規化）
        relative_err = relative_error(analytical_grad, numerical_grad)
        
        passed = relative_err <= GRAD_TOL
        all_passed = all_passed and passed
        status = "✓ OK" if passed else "✗ NG"
        
        print(f"{label}: 相対誤差 = {relative_err:.2e} {status}")
    
    print("="*70)
    if all_passed:
        print(f"全パラメータで勾配チェックに合格しました！（基準: 相対誤差 ≤ {GRAD_TOL:.0e}）")
    else:
        print(f"警告: 一部のパラメータで勾配が一致しません（基準: 相対誤差 ≤ {GRAD_TOL:.0e}）")
    
    return all_passed
