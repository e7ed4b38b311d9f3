"""The graders' Japanese messages: what a failed check tells the student (graders/checks.py
holds the assertions that raise them). Never a hidden input or expected value: only which quantity,
which shapes, the worst relative error and where, and the mistake or hint."""

from __future__ import annotations

from collections.abc import Sequence

# -- the assertions (checks.py) --
TRANSPOSED_SHAPE = "（転置になっていませんか？）"
SIZE_DIFFERS = "（sum の axis や keepdims、行列積の順番を確認してください）"
RESHAPE = "（reshape や keepdims を確認してください）"
OVERFLOW = "。exp のオーバーフローや 0 による割り算を確認してください"
ALL_ZERO = "。すべて 0 になっています"
TRANSPOSED = "。転置になっています（行列積の順番を確認してください）"
SIGN_FLIPPED = "。符号が逆です"
FORWARD_CHANGED = (
    "順伝播（forward）が用意されたものと違う値を返しています。"
    "forward は変更しないでください（採点は用意された順伝播の勾配と比べます）"
)


def shape_differs(what: str, shape: tuple[int, ...], got: tuple[int, ...], hint: str) -> str:
    return f"{what} の形状が違います: 期待 {shape}, 実際 {got}{hint}"


def not_finite(what: str, idx: tuple[int, ...], count: int) -> str:
    return f"{what} に NaN または inf が含まれています（位置 {idx}、全 {count} 要素）"


def value_differs(what: str, err: float, tol: float, idx: tuple[int, ...]) -> str:
    return f"{what} の値が違います: 最大相対誤差 {err:.2e}（許容 {tol:.0e}）、最大のずれは位置 {idx}"


def off_by_factor(factor: str) -> str:
    return f"。全体が約 {factor} 倍ずれています（係数、平均の取り方、割る数を確認してください）"


# -- one class's backward (backward.py, backward_part.py) --
def missing(what: str) -> str:
    return f"{what} がありません（backward で代入してください）"


def is_none(what: str) -> str:
    return f"{what} が None です（backward で計算して、return / 代入していますか？）"


def not_ndarray(what: str, kind: str) -> str:
    return f"{what} が np.ndarray ではありません（{kind}）。NumPy 配列にしてください"


def grad_not_assigned(what: str, key: str, is_missing: bool) -> str:
    got = "がありません" if is_missing else "が None のままです"
    return f"{what} {got}。backward で self.grads['{key}'] に代入してください（キーは '{key}' です）"


def backward_result(class_name: str, result_name: str) -> str:
    return f"{class_name}.backward の戻り値 {result_name}"


def same_shape_as(name: str, key: str | None, label: str) -> str:
    """`name` should have the shape of the input (key None) or of params[key]."""
    what = "入力" if key is None else f"params['{key}']"
    return f"{name}（{what}と同じ形状）{label}"


def forward_output(class_name: str, loss: bool, label: str) -> str:
    what = "損失の値" if loss else "出力"
    return f"{class_name}.forward の{what}{label}"


RETURNS_DOUT = "dout をそのまま返しています（f'(x) を掛けていません）"
STALE_CACHE = (
    "1 回目の forward（または 1 回目の backward）のときの値を使っています。"
    "backward では毎回、直前の forward のキャッシュから計算してください"
)
SUM_OF_BOTH = "1 回目と 2 回目の勾配の和になっています。grads には += で足し込まず、代入してください"
STILL_FIRST = "1 回目の値のままです。毎回計算し直してください"
ACCUMULATES = "前の backward の勾配に足し込んでいます。grads には += で足し込まず、代入してください"
REPEAT_IN_FLOAT32 = "2 回の結果が float32 の丸め誤差の大きさでずれています。配列は float64 のまま計算してください"
LOSS_MUTATES_CACHE = "backward が self.cache の配列をその場で書き換えていないか（p -= t、p[...] -= 1 など）"
MUTATES_CACHE = (
    "backward が self.cache の配列をその場で書き換えていないか（y *= ... など）、"
    "dx が dout に比例しているか（dout に f'(x) を掛けるだけのはずです）"
)
IN_FLOAT32 = (
    "float32 の丸め誤差の大きさでずれています。float32 で計算していませんか。配列は float64 のまま計算してください"
)
NUMERICAL = "解析的な勾配と丸め誤差を超えてずれています。数値微分（差分）ではなく、キャッシュを使って解析的に勾配を計算してください"


def after_new_input(name: str, shape: tuple[int, ...]) -> str:
    return f"forward → backward → 別の入力で forward → backward としたときの {name}（形状 {shape}）"


def with_shape(name: str, shape: tuple[int, ...]) -> str:
    return f"{name}（形状 {shape}）"


def graded_once_right(failed: str) -> str:
    return f"この項目は backward が正しい勾配を返すようになってから採点されます（{failed}）"


def second_backward(name: str, loss: bool, factor: float) -> str:
    return f"同じ forward の後に backward を 2 回呼んだときの 2 回目の {name}" + (
        "（1 回目と同じになるはずです）"
        if loss
        else f"（2 回目の dout は 1 回目の {factor:g} 倍なので、{factor:g} 倍になるはずです）"
    )


def reuses_grads(key: str) -> str:
    return f"grads['{key}'] に前の値を足し込んだり、前の値を使い回したりしていないか"


def check_that(why: str) -> str:
    return f"{why}を確認してください"


def mutates_dout(class_name: str) -> str:
    return f"{class_name}.backward が引数 dout をその場で書き換えています（dout *= ... や dout[...] = ... など）。上流の勾配は他の層でも使われるので、新しい配列を作って返してください"


def forward_in_backward(class_name: str, calls: int) -> str:
    return f"{class_name}.backward の中で forward が {calls} 回呼ばれました。数値微分ではなく、キャッシュを使って解析的に勾配を計算してください"


# -- the cases' labels (suite.py, test_relu.py, test_softmax_ce.py) --
def input_shape_label(shape: tuple[int, ...]) -> str:
    return f"（入力の形状 {shape}）"


def large_input_label(shape: tuple[int, ...]) -> str:
    return f"（|x| が最大 1000 の入力、形状 {shape}。cache['y'] を使えば x から exp を計算し直す必要はありません）"


def kink_label(low: float, high: float, shape: tuple[int, ...]) -> str:
    return f"（0 にごく近い入力 {low:g} ≤ |x| ≤ {high:g}、形状 {shape}）"


def logits_label(n: int, c: int, onehot: bool) -> str:
    return f"（N={n}, C={c}、t は{'one-hot' if onehot else 'クラス番号'}）"


def large_logits_label(n: int, c: int) -> str:
    return f"（絶対値 1000 程度のロジット、N={n}, C={c}。比較相手は解析的な勾配）"


# -- the exercises (exercise.py, exercise_recheck.py) --
def call_lacks(call: str, missing: Sequence[str]) -> str:
    return f"{call} の呼び出しに引数 {', '.join(missing)} がありません"


def not_called(call: str) -> str:
    return f"{call} が呼ばれていません（勾配チェックを実行してください）"


def neither_call_nor_variable(call: str, name: str) -> str:
    return f"{call} が呼ばれておらず、変数 {name} もありません"


def answer_cell(exercise: str) -> str:
    return f"演習 {exercise} の解答セル"


def undefined(names: Sequence[str]) -> str:
    return f"変数 {', '.join(names)} が定義されていません（表のとおりの名前で作ってください）"


def result_not_from_call(call: str, name: str) -> str:
    return f"{call} が呼ばれていません。{name} はその戻り値にしてください"


def not_mlp(name: str, kind: str, dims: object) -> str:
    return f"{name} が MLP ではありません（{kind}）。MLP({dims}, activation=...) で作ってください"


def more_layers(n: int) -> str:
    return f"…ほか {n} 層"


def wrong_architecture(name: str, layers: object, shapes: str, dims: object, want: object) -> str:
    return f"{name} の構成が違います: 層 {layers}、重みの形状 {shapes}。MLP({dims}) なら重みの形状は {want} です"


def one_activation(name: str, activations: str) -> str:
    return f"{name} の活性化層 {activations} は ReLU・Sigmoid・Tanh のどれか 1 つにしてください"


def wrong_bias_shapes(name: str, shapes: str, want: object) -> str:
    return f"{name} のバイアスの形状 {shapes} が違います（期待 {want}）"


def wrong_loss(name: str, loss: str, want: str) -> str:
    return f"{name} が {loss} です。{want}() にしてください"


def not_numeric_array(name: str) -> str:
    return f"{name} が数値の np.ndarray ではありません"


def wrong_x_shape(name: str, shape: object, d_in: int) -> str:
    return f"{name} の形状が {shape} です。(N, {d_in})（N ≥ 2）にしてください"


def not_finite_array(name: str) -> str:
    return f"{name} に NaN または inf が含まれています"


def wrong_t_shape(t: str, shape: object, n: int, d_out: int, x: str) -> str:
    return f"{t} の形状が {shape} です。({n}, {d_out}) にしてください（{x} と同じ N。(N,) だと y - t が (N, N) に広がってしまいます）"


def labels_not_integer(name: str, dtype: object) -> str:
    return f"{name} がクラス番号なら整数型にしてください（dtype {dtype}）。浮動小数点の配列は添字に使えません"


def labels_out_of_range(name: str, last: int) -> str:
    return f"{name} のクラス番号は 0〜{last} にしてください"


def not_onehot(name: str) -> str:
    return f"{name} が one-hot になっていません（各行にちょうど 1 つの 1、他は 0）"


def wrong_labels_shape(name: str, shape: object, n: int, c: int) -> str:
    return f"{name} の形状が {shape} です。クラス番号なら ({n},)、one-hot なら ({n}, {c}) にしてください"


def loss_cannot_recheck(name: str, loss: str, want: str) -> str:
    return f"{name} が {loss} のため、参照実装で勾配チェックを再実行できません（{want}() にしてください）"


BAD_STEP = "numerical_gradient_check の h は 0 < h < 1 の数にしてください"


def recheck_failed(x: str, t: str, bad: int, k: int, param: str, err: float, tol: float) -> str:
    return f"あなたのモデルのパラメータ・{x}・{t} で、参照実装を使って勾配チェックをやり直すと {bad} 個のパラメータで不合格でした（最悪は {k} 番目の Linear の {param}、相対誤差 {err:.2e}、基準 {tol:.0e}）。入力や重みの大きさ（活性化関数が飽和していないか）、ReLU なら 0 付近の値を見直してください"


def nth_linear(name: str, k: int) -> str:
    return f"{name} の {k} 番目の Linear"


def recheck_w_shape(where: str, shape: str, width: int | None) -> str:
    want = "(入力, 出力)" if width is None else f"({width}, 出力)"
    return f"{where} の params['W'] の形状が {shape} です。参照実装で勾配チェックをやり直すには 2 次元の {want} が必要です（前の層の出力と合わせてください）"


def recheck_b_shape(where: str, shape: str, width: int) -> str:
    return f"{where} の params['b'] の形状が {shape} です。参照実装で勾配チェックをやり直すには ({width},) が必要です"


def no_linear(name: str) -> str:
    return f"{name} に Linear 層がないため、勾配チェックを再実行できません"


def recheck_x_numeric(name: str, shape: str, d_in: int) -> str:
    return (
        f"{name} の形状が {shape} です。参照実装で勾配チェックをやり直すには数値の配列 (N, {d_in})（N ≥ 2）が必要です"
    )


def recheck_x_width(name: str, shape: object, n: int, d_in: int) -> str:
    return f"{name} の形状が {shape} です。参照実装で勾配チェックをやり直すにはモデルの入力に合わせた ({n}, {d_in}) が必要です"


def recheck_t_want(n: int, d_out: int, classes: bool) -> str:
    return f"クラス番号（整数）の ({n},) か one-hot の ({n}, {d_out})" if classes else f"({n}, {d_out})"


def recheck_t_shape(t: str, shape: str, want: str, x: str) -> str:
    return f"{t} の形状が {shape} です。参照実装で勾配チェックをやり直すには {want} が必要です（{x} と同じ N。形が違うと y - t が別の形に広がり、計算が膨れ上がります）"


def too_big_to_recheck(
    name: str, layers: int, params: int, max_layers: int, max_params: int, dims: object, want: int
) -> str:
    return f"{name} は {layers} 層・パラメータ {params} 個で、採点側で勾配チェックをやり直せる大きさ（{max_layers} 層・{max_params} 個まで）を超えています。課題のとおり MLP({dims})（パラメータ {want} 個）で作ってください"


def linear_not_arrays(k: int) -> str:
    return (
        f"{k} 番目の層（Linear）の params['W'], params['b'] が数値の配列（形状 (入力, 出力) と (出力,)）ではありません"
    )


def no_reference_layer(k: int, name: str) -> str:
    return f"{k} 番目の層 {name} は参照実装にないため、勾配チェックを再実行できません"


def recheck_crashed(kind: str) -> str:
    return f"参照実装で勾配チェックを実行できませんでした（{kind}）。モデル・X・t の形状と型を確認してください"


# -- the MLP (test_mlp.py) --
def mlp_layer_result(k: int, name: str) -> str:
    return f"MLP の {k} 層目（あなたの {name}）の backward の戻り値"


def mlp_waits(activation_class: str) -> str:
    return f"この問題（Linear と {activation_class} をつないだ MLP）は、Linear.backward か {activation_class}.backward の少なくとも一方が満点になってから採点されます（採点にはあなたのクラスを使います）"


def mlp_case(dims: object, activation: str, n: int, yours: str) -> str:
    return f"MLP({dims}, '{activation}')、N={n}（あなたのクラス: {yours}）"


def mlp_output(where: str) -> str:
    return f"{where} の出力"


def mlp_dx(where: str) -> str:
    return f"{where} の dx（入力への勾配）"


def mlp_grad(where: str, k: int, key: str) -> str:
    return f"{where} の {k} 番目の Linear の grads['{key}']"


INDEPENDENCE_WAITS = (
    "この問題は Linear・Sigmoid・ReLU・Tanh の backward のどれかが満点になってから採点されます"
    "（同じクラスの 2 つの層が状態を共有しないかを、あなたのクラスで調べます）"
)
SHARED_STATE = (
    "。2 つの層が状態を共有しています。キャッシュや勾配はクラス変数やグローバル変数ではなく、"
    "その層の self.cache / self.grads に保存してください"
)


def two_layers(name: str) -> str:
    return f"{name} の層を 2 つ作り、1 つ目、2 つ目の順に forward してから 1 つ目の backward を呼んだときの"


def returned_by_backward(name: str) -> str:
    return f"{name}.backward の戻り値"
