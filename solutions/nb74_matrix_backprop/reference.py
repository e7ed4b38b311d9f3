"""Reference implementation of nb74_matrix_backprop.

Generated from the source notebook by `python -m autograder build`; do not edit.
"""
# --- cell given_imports ---
# 環境セットアップ（計算に使うもの）
import numpy as np
from abc import ABC, abstractmethod

np.random.seed(42)


# --- cell given_checks ---
# 可視テスト用のチェック関数（編集不要）
# 中心差分で数値勾配を求め、あなたの backward の結果と比べます。

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


def assert_gradient(name, got, expected, tol=1e-6):
    # got（あなたの勾配）を expected（数値勾配）と比べ、違えば理由を日本語で示す
    expected = np.asarray(expected, dtype=np.float64)
    if got is None:
        raise AssertionError(f"{name} が None です。backward で計算してください。")
    got = np.asarray(got, dtype=np.float64)
    if got.shape != expected.shape:
        hint = "（転置になっていませんか？）" if got.shape == expected.T.shape else ""
        raise AssertionError(f"{name} の形状が違います: 期待 {expected.shape}, 実際 {got.shape}{hint}")
    bad = ~np.isfinite(got)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise AssertionError(f"{name} に NaN または inf が含まれています（位置 {idx}）。オーバーフローしていませんか？")
    err = relative_error(got, expected)
    if err > tol:
        idx = tuple(int(i) for i in np.unravel_index(np.argmax(np.abs(got - expected)), got.shape))
        msg = (f"{name} の値が違います: 最大相対誤差 {err:.2e}（許容 {tol:.0e}）。"
               f"位置 {idx} で 期待 {expected[idx]:.6g}, 実際 {got[idx]:.6g}")
        nonzero = np.abs(expected) > 1e-3 * np.max(np.abs(expected))
        if nonzero.any():
            ratio = got[nonzero] / expected[nonzero]
            if np.allclose(ratio, ratio[0], rtol=1e-3) and abs(ratio[0] - 1) > 1e-3:
                msg += f"。全体が定数倍（約 {ratio[0]:.4g} 倍）ずれています。平均の取り方（1/N など）を確認してください"
        raise AssertionError(msg)


def check_linear(Linear, shapes=((4, 3, 2),), seed=0):
    # Linear.backward を (N, D_in, D_out) の各形状で数値勾配と比べる
    rng = np.random.default_rng(seed)
    for N, D_in, D_out in shapes:
        layer = Linear(D_in, D_out)
        W = rng.standard_normal((D_in, D_out))
        b = rng.standard_normal(D_out)
        x = rng.standard_normal((N, D_in))
        dout = rng.standard_normal((N, D_out))
        layer.params['W'], layer.params['b'] = W.copy(), b.copy()

        def loss(x_, W_, b_):
            layer.params['W'], layer.params['b'] = W_, b_
            return np.sum(layer.forward(x_) * dout)

        num_dx = numerical_gradient(lambda v: loss(v, W, b), x)
        num_dW = numerical_gradient(lambda v: loss(x, v, b), W)
        num_db = numerical_gradient(lambda v: loss(x, W, v), b)
        layer.params['W'], layer.params['b'] = W.copy(), b.copy()
        layer.forward(x)
        dx = call_backward(layer.backward, dout.copy())
        assert_gradient(f"dx (N={N}, D_in={D_in}, D_out={D_out})", dx, num_dx)
        assert_gradient(f"dW = grads['W'] (N={N}, D_in={D_in}, D_out={D_out})", layer.grads.get('W'), num_dW)
        assert_gradient(f"db = grads['b'] (N={N}, D_in={D_in}, D_out={D_out})", layer.grads.get('b'), num_db)


def check_activation(layer_class, x, seed=0):
    # 活性化層の backward を数値勾配と比べる（x は入力）
    rng = np.random.default_rng(seed)
    x = np.asarray(x, dtype=np.float64)
    dout = rng.standard_normal(x.shape)
    layer = layer_class()
    num_dx = numerical_gradient(lambda v: np.sum(layer.forward(v) * dout), x)
    layer.forward(x)
    dx = call_backward(layer.backward, dout.copy())
    assert_gradient(f"{layer_class.__name__} の dx (形状 {x.shape})", dx, num_dx)


def check_loss(loss_class, y, t):
    # 損失関数の backward（dL/dy）を数値勾配と比べる
    y = np.asarray(y, dtype=np.float64)
    loss_fn = loss_class()
    num_dy = numerical_gradient(lambda v: loss_fn.forward(v, t), y)
    loss_fn.forward(y, t)
    dy = call_backward(loss_fn.backward)
    assert_gradient(f"{loss_class.__name__} の dL/dy (形状 {y.shape})", dy, num_dy)


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
    
    逆伝播: dx = dout * (x > 0)
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
    
    Softmax: p_i = exp(x_i) / Σexp(x_j)
    CrossEntropy: L = -Σ t_i * log(p_i)
    
    逆伝播: dL/dx = p - t（シンプルな形！）
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
        
        # クロスエントロピー: -Σ t * log(p)。log p は log-sum-exp で安定に計算
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
def numerical_gradient_check(model, loss_fn, X, t, h=1e-5):
    """
    数値微分と解析的勾配を比較して検証
    """
    print("\n【勾配チェック】")
    print("="*70)
    
    # 解析的勾配を計算
    y = model.forward(X)
    loss = loss_fn.forward(y, t)
    dout = loss_fn.backward()
    model.backward(dout)
    
    all_passed = True
    
    for layer, name, param in model.get_params():
        analytical_grad = layer.grads[name]
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
        
        passed = relative_err < 1e-4
        all_passed = all_passed and passed
        status = "✓ OK" if passed else "✗ NG"
        
        print(f"{layer.__class__.__name__}.{name}: 相対誤差 = {relative_err:.2e} {status}")
    
    print("="*70)
    if all_passed:
        print("全パラメータで勾配チェックに合格しました！")
    else:
        print("警告: 一部のパラメータで勾配が一致しません")
    
    return all_passed
