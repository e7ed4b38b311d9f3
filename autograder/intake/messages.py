"""The intake's Japanese messages: why a submitted file or folder is refused, and the notes telling
the student what was done to read their notebook (file names arrive already made printable, see
read.shown)."""

from __future__ import annotations

MEMO_TITLE = "### 採点メモ"  # heads the intake's notes in the student's feedback
LINK = "シンボリックリンク"
NOTEBOOK_MISSING = "提出フォルダにノートブック（.ipynb）がありません"
TIMESTAMP_NOT_A_DATE = "timestamp.txt が日時ではないため、提出時刻なしで採点しました"
CELLS_FOUND_BY_CONTENT = "nbgrader のセル情報が失われていたため、配布時のセルを内容から見つけて採点しました"
CELLS_REORDERED = "採点するセルの順番が配布時と違ったため、配布時の順に並べ直して採点しました"
OWN_DEFINITIONS_LOADED = (
    "追加・変更したコードセルのうち、関数・クラス・import・定数の定義も採点で読み込みました"
    "（それ以外の文は採点では実行しません）"
)
ANSWER = "解答"  # an answer found by its cell id, which defines no name
NAMES_SEPARATOR = "・"


# -- read.py: one file -------------------------------------------------------------------------
def link_refused(name: str) -> str:
    return f"「{name}」は{LINK}のため採点しません（リンク先は読みません）"


def folder_not_regular(step: str) -> str:
    return f"提出フォルダ「{step}」が{LINK}などの通常のフォルダでないため採点しません"


def file_missing(name: str) -> str:
    return f"提出ファイル {name} が見つかりません"


def file_not_regular(name: str) -> str:
    return f"提出ファイル {name} は通常のファイルではないため採点しません"


def file_too_big(name: str, limit_mb: int) -> str:
    return f"提出ファイル {name} が大きすぎます（上限 {limit_mb} MB）"


def text_not_utf8(name: str) -> str:
    return f"{name} が UTF-8 ではありません"


def too_many_nodes(name: str, nodes: int, limit: int) -> str:
    return f"提出ファイル {name} は JSON の要素が多すぎるため（{nodes:,} 個、上限 {limit:,} 個）、ノートブックとして読めません"


def notebook_not_utf8(name: str) -> str:
    return f"提出ファイル {name} は UTF-8 ではないため、ノートブックとして読めません"


def surrogates_replaced(name: str) -> str:
    return (
        f"提出ファイル {name} に不正な文字（対になっていないサロゲート）があったため「\ufffd」に置き換えて採点しました"
    )


def nested_too_deep(name: str, depth: int | None = None) -> str:
    limit = f"（{depth} 段まで）" if depth is not None else ""
    return f"提出ファイル {name} は入れ子が深すぎるため{limit}、ノートブックとして読めません"


def not_json(name: str) -> str:
    return f"提出ファイル {name} は JSON ではないため、ノートブックとして読めません"


def not_a_notebook(name: str, kind: str) -> str:
    return f"提出ファイル {name} をノートブックとして読めません（{kind}）"


def no_cells(name: str) -> str:
    return f"提出ファイル {name} にセルがありません"


def broken_metadata(name: str) -> str:
    return f"提出ファイル {name} のメタデータが壊れているため、ノートブックとして読めません"


def broken_cell(name: str, i: int) -> str:
    return f"提出ファイル {name} の {i} 番目のセルが壊れているため、ノートブックとして読めません"


# -- canonical.py and matching.py: the notebook's cells -------------------------------------
def too_many_cells(cells: int, limit: int) -> str:
    return f"セルが多すぎるため採点できません（{cells} 個、上限 {limit} 個）"


def code_too_long(chars: int, limit: int) -> str:
    return f"コードが長すぎるため採点できません（{chars:,} 文字、上限 {limit:,} 文字）"


def answers_recovered(found: str) -> str:
    return (
        "解答セルの目印（nbgrader の grade_id）で見つからなかった解答を、セルの ID やクラス・変数の定義から"
        f"見つけて採点しました: {found}"
    )


def answers_split(parts: str) -> str:
    return f"1 つのセルに複数の解答（{parts}）があったため、定義ごとに分けて採点しました"


def answer_missing(gid: str, defines: str) -> str:
    return (
        f"解答セル「{gid}」が提出ノートブックに見つかりません（{defines} の定義もありません）。配布時のまま採点しました"
    )


def bad_ids_replaced(count: int) -> str:
    return f"セル ID が不正または重複していたセル（{count} 個）に、新しい ID を付けました"


def cells_restored(names: str) -> str:
    return f"削除されていた配布時のセル（{names}）を配布時の内容で戻しました"


def markdown_dropped(max_cells: int, max_chars: int, dropped: int) -> str:
    return (
        f"マークダウンセルが多すぎる・長すぎるため（上限 {max_cells} 個・合計 {max_chars:,} 文字）、"
        f"{dropped} 個を採点用のノートブックから除きました"
    )


def cell_type_changed(gid: str) -> str:
    return f"grade_id「{gid}」のセルの種類が配布時と違うため、内容から判断しました"


def looks_like(name: str) -> str:
    return f"（「{name}」に似ていますが別の名前です）"


def unknown_grade_id(gid: str, hint: str) -> str:
    return f"grade_id「{gid}」は配布ノートブックにないため、その名前では採点対象にしませんでした{hint}"


def grading_settings_restored(gid: str) -> str:
    return f"grade_id「{gid}」のセルの nbgrader 設定（配点など）が配布時と違うため、配布時の設定に戻しました"


def answer_repeated(gid: str) -> str:
    return f"grade_id「{gid}」のセルが複数あったため、上から順にすべて実行した結果を採点しました"


def cell_repeated(gid: str) -> str:
    return f"grade_id「{gid}」のセルが複数あったため、最初のセルだけを残しました"


# -- submissions.py: a class's folders ---------------------------------------------------------
def renamed(name: str, expected: str) -> str:
    return f"ファイル名が「{name}」でした（{expected} として採点）"


def several_notebooks(count: int, names: str, chosen: str, newest: bool) -> str:
    which = f"最も新しい {chosen}" if newest else chosen
    return f"ノートブックが {count} 個ありました（{names}）。{which} を採点しました"


def timestamp_unreadable(why: object) -> str:
    return f"timestamp.txt を読めないため（{why}）、提出時刻なしで採点しました"


FOLDER_IS_LINK = f"提出フォルダが{LINK}など通常のフォルダではないため採点しません"


def folder_unreadable(kind: str) -> str:
    return f"提出フォルダを読めませんでした（{kind}）"
