"""The Japanese that `python -m autograder build` writes into the source and release notebooks: the
points table of the instructions and the comments of the given cell that defines the visible tests'
namespace nb74 (generated content a student reads; the checks' own messages are autograder/diagnosis/'s)."""

from __future__ import annotations

# -- the points table (a markdown cell of the instructions) --
TABLE_HEADER = "| 採点される箇所 | 節 | 配点 |"


def table_total(max_score: float) -> str:
    return f"| **合計** | | **{max_score:g}** |"


# -- the given cell of the nb74 namespace: its comments and the module's docstring --
NB74_COMMENT = [
    "# 可視テストのチェック関数（編集不要・自動生成）: 採点と同じ見立て（どの間違いか）と、フィードバックと同じ図のコード",
    "# （講座のキットの autograder/diagnosis/ のモジュール）を、",
    "# ノートブックの変数と名前がぶつからないよう nb74 という名前空間にまとめます。可視テストのセルが",
    "# nb74.check_linear(Linear) のように呼びます。隠しテストの入力は含みません。",
]
NB74_DOC = "可視テストのチェック関数（自動生成）"
FOR_TRACEBACKS = "# エラー表示用"
INSTALL = "# 未実装（NotImplementedError）などを 1 行の日本語で表示する"
