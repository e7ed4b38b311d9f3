"""The Gradescope route's Japanese messages: which uploaded notebook was graded and why, the
summary lines of results.json, and the reason shown when grading itself failed."""

from __future__ import annotations

CRASHED = (
    "採点中に問題が起きたため採点できませんでした。もう一度提出してください（続くときは担当教員に連絡してください）"
)
ALL_PASSED = "すべての確認に合格しました"
NOTHING = "なし"  # no file was uploaded
ONLY_ASSIGNMENT_NOTEBOOK = "この課題のノートブックはこれだけなので"
LATEST_ASSIGNMENT_NOTEBOOK = "この課題のノートブックのうち最後に更新されたものなので"
ONLY_NOTEBOOK = "提出されたノートブックはこれだけなので"


def total(score: float, max_score: float) -> str:
    return f"合計 {score:.2f} / {max_score:g}"


def isolation_line(confinement: object) -> str:
    return f"隔離レベル: {confinement}"


def link_not_read(name: str) -> str:
    return f"{name} はシンボリックリンクのため読みません"


def no_notebook(expected: str, seen: str) -> str:
    return f"ノートブック（.ipynb）が提出されていません。{expected} を提出してください。提出されたファイル: {seen}"


def named_as_expected(expected: str) -> str:
    return f"名前が {expected} なので"


def graded_under_another_name(name: str, expected: str) -> str:
    return f"{name} を採点しました（ファイル名は {expected} にしてください）"


def no_assignment_notebook(seen: str, expected: str) -> str:
    return f"この課題のノートブックが見つかりません（{seen}）。{expected} を提出してください"


def others_skipped(count: int, why: str, chosen: str, skipped: str) -> str:
    return f"ノートブックが {count} 個あります。{why} {chosen} を採点し、{skipped} は採点していません"
