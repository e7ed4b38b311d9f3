"""Reference implementation of nb74_matrix_backprop.

Generated from the source notebook by `python -m autograder build`; do not edit.
"""
# --- cell given_imports ---
# 環境セットアップ（計算に使うもの）
import numpy as np
from abc import ABC, abstractmethod

np.random.seed(42)


# --- cell given_diagnosis ---
import sys as _sys

from autograder.assignments.nb74_matrix_backprop.public import visible as nb74

_sys.modules.setdefault('nb74', nb74)


# --- cell given_checks ---
# 可視テスト用のチェック関数は、上の自動生成セルの nb74 にまとめてあります（編集不要）。
# 可視テストのセルは nb74.check_linear(Linear) のように呼びます。
# 7 節の勾配チェック（と、あなたが自分で試すとき）に使う 3 つは、ここでノートブックの変数にもします:
#   GRAD_TOL            合格の基準（可視テスト・勾配チェック・採点で共通、7.1 節）: 相対誤差がこれ以下
#   numerical_gradient  numerical_gradient(f, x): スカラー関数 f の x に関する数値勾配（中心差分、h = 1e-6）
#   relative_error      relative_error(a, b): 最大絶対値で正規化した相対誤差 max|a - b| / max(max|a|, max|b|)
GRAD_TOL = nb74.GRAD_TOL  # = 1e-5
numerical_gradient = nb74.numerical_gradient
relative_error = nb74.relative_error


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
        
        # 1e-7 未満は中心差分の丸め誤差の大きさで、桁は CPU によって変わるので、上限だけを表示します
        shown = f"< {1e-7:.0e}" if relative_err < 1e-7 else f"= {relative_err:.2e}"
        print(f"{label}: 相対誤差 {shown} {status}")
    
    print("="*70)
    if all_passed:
        print(f"全パラメータで勾配チェックに合格しました！（基準: 相対誤差 ≤ {GRAD_TOL:.0e}）")
    else:
        print(f"警告: 一部のパラメータで勾配が一致しません（基準: 相対誤差 ≤ {GRAD_TOL:.0e}）")
    
    return all_passed
