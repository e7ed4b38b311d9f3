"""The sandbox's Japanese messages: what the student reads when their process hangs, ends, runs out
of time or returns something the judge cannot take. `what` names the call ("Linear.backward",
"セル linear", ...), as these functions also do (returned_by, variable, cell)."""

from __future__ import annotations

REST_NOT_RUN = "この部分の残りのテストは実行できません"
EXITED = "sys.exit / os._exit / メモリ不足など"  # the ways a student process ends by itself
COULD_NOT_START = "学生のプロセスを起動できませんでした"
COULD_NOT_RESTART = "学生のプロセスを再起動できませんでした（セルの再実行が止まります）"
RESTART_FAILED_REASON = "学生のプロセスを再起動できなかったため"
HUNG_AT_LOAD = "実行が終わりませんでした（無限ループ？）"
EXITED_AT_LOAD = f"実行中にプロセスが終了しました（{EXITED}）"
STOPPED_ON_RERUN = "再実行で止まりました"


# -- what a call is called ---------------------------------------------------------------------
def cell(name: str) -> str:
    return f"セル {name}"


def variable(name: str) -> str:
    return f"変数 {name}"


def function(name: str) -> str:
    return f"関数 {name}"


def returned_by(class_name: str, method: str) -> str:
    """'Linear.backward の戻り値'."""
    return f"{class_name}.{method} の戻り値"


def assignment_to(target: str) -> str:
    return f"{target} への代入"


# -- budgets -----------------------------------------------------------------------------------
def submission_budget_spent(seconds: float) -> str:
    return f"提出全体の採点時間の上限（{seconds:g} 秒）を使い切ったため、ここから先は採点していません（0 点）"


def part_budget_spent(seconds: float) -> str:
    return (
        f"この部分の採点が制限時間（{seconds:g} 秒）を超えたため打ち切りました。配列や設定が課題より"
        f"大きすぎないか、処理が遅すぎないかを確認してください。{REST_NOT_RUN}"
    )


def submission_budget_reached(seconds: str) -> str:
    return f"提出全体の採点時間の上限（{seconds} 秒）に達したため"


# -- calls into the student process ----------------------------------------------------------
def step_not_run(step: int) -> str:
    return f"ステップ {step} は実行されませんでした"


def process_ended(what: str) -> str:
    return f"{what} の実行中に学生のプロセスが終了しました（{EXITED}）"


def call_timed_out(what: str, timeout: float) -> str:
    return f"{what} が {timeout:g} 秒以内に終わりませんでした（無限ループ？）。{REST_NOT_RUN}"


def reply_too_many_bytes(what: str, size: int, limit: int) -> str:
    return f"{what} の結果が大きすぎます（{size:,} バイト、上限 {limit:,} バイト）。採点側では受け取りません。{REST_NOT_RUN}"


def reply_refused(what: str, why: str) -> str:
    return f"{what} {why}。{REST_NOT_RUN}"


def class_missing(class_name: str) -> str:
    return f"クラス {class_name} が定義されていません"


def function_missing(name: str) -> str:
    return f"関数 {name} が定義されていません"


def variable_missing(name: str) -> str:
    return f"変数 {name} が定義されていません"


# -- loading the cells -----------------------------------------------------------------------
def slow_statement(cell_name: str, line: int, seconds: float) -> str:
    return f"セル {cell_name} {line} 行目の文（{seconds:.1f} 秒）"


def statement_over_slow_limit(slow: str, share: str) -> str:
    return f"{slow} 秒で終わりませんでした（セルの実行時間の合計が {share} 秒を超えたあとは、1 文 {slow} 秒まで）"


def statement_skipped(cell_name: str, line: int | None, why: str) -> str:
    where = f" {line} 行目の文" if line is not None else ""
    return f"セル {cell_name}{where}: {why}。この文を飛ばして採点しました"


def cells_not_loaded(cut: str, why: str) -> str:
    return f"セル {cut}: {why}、このセルから後は読み込んでいません"


def slow_on_rerun(slow: float) -> str:
    return f"{slow:g} 秒で終わりませんでした"


def skipped_on_rerun(cell_name: str, line: int, why: str) -> str:
    return f"セル {cell_name} {line} 行目の文（{why}）"


# -- what the student process sent back --------------------------------------------------------
def reply_too_many_elements(total: int, limit: int) -> str:
    """Said after the call's name (reply_refused)."""
    return f"の結果が大きすぎます（配列の要素が合計 {total:,} 個、上限 {limit:,} 個）。採点側では受け取りません"


def where(cell_name: str, function: str, line: str, code: str) -> str:
    return f"（セル {cell_name} の {function}、{line} 行目: {code}）"


def not_implemented(what: str, where: str) -> str:
    return f"{what} はまだ実装されていません（NotImplementedError）{where}"


def unsendable(what: str, detail: str) -> str:
    return f"{what} の結果を採点側に送れません（NumPy の数値配列・数値・リスト・辞書にしてください。詳細: {detail}）"


def reply_over_limit(what: str, limit: int) -> str:
    return f"{what} の結果が大きすぎます（配列の要素が合計 {limit:,} 個を超えるため、採点側に送れません）"


def out_of_memory(what: str, mib: int, where: str) -> str:
    return f"{what} でメモリが足りなくなりました（上限 {mib} MiB）{where}"


def raised(what: str, kind: str, message: str, where: str) -> str:
    return f"{what} で例外 {kind}: {message} が発生しました{where}"


def array_too_big(what: str, shape: str, limit: int) -> str:
    return f"{what} が大きすぎます（形状 {shape}、上限 {limit} 要素）"


def complex_array(what: str, dtype: object) -> str:
    return f"{what} が複素数の配列です（dtype {dtype}）"


def returned_none(what: str) -> str:
    return f"{what} が None です（値を return していますか？）"


def not_an_array(what: str, type_name: str) -> str:
    return f"{what} が配列ではありません（型 {type_name}）"


def not_numbers(what: str, type_name: str) -> str:
    return f"{what} が数値の配列ではありません（{type_name}）"


def not_a_scalar(class_name: str, shape: object) -> str:
    return f"{returned_by(class_name, 'forward')}がスカラーではありません（形状 {shape}）"
