"""The nbgrader route's Japanese: why `collect` refused a submission folder or what it changed (the
student reads it as a note in the feedback), the pictures' captions, and what the instructor reads
when nbgrader's feedback step fails."""

from __future__ import annotations

from ...intake.messages import LINK

# -- exchange/collect.py, exchange/copy.py, pre_convert.py: a submission folder refused or changed --
NOT_A_FOLDER = "提出がフォルダではないため取り込みませんでした"
GREW_WHILE_COPIED = "提出フォルダがコピー中に上限を超えて大きくなったため取り込みませんでした"
BAD_TIMESTAMP = "timestamp.txt が日時ではなかったため、提出フォルダ名の時刻を使いました"
FOLDER_IS_LINK = f"提出フォルダが{LINK}のため採点しません（リンク先は読みません）"


def not_copied(name: str, why: str) -> str:
    return f"「{name}」をコピーできなかったため、提出を取り込みませんでした（{why}）。ほかの人が読めるファイルだけを提出してください"


def copy_failed(kind: str) -> str:
    return f"提出フォルダのコピー中にエラー（{kind}）が起きたため取り込めませんでした。担当者に連絡してください"


def page_refused(name: str) -> str:
    return f"「{name}」は HTML・SVG・XML のファイルのため取り込みません（採点画面でウェブページとして開かれてしまうため）。解答はノートブックに書いてください"


def too_many_files(limit: int) -> str:
    return f"提出フォルダのファイルとフォルダが多すぎるため取り込みませんでした（{limit:,} 個を超えています）"


def unreadable(why: str) -> str:
    return f"提出フォルダの一部を読めなかったため取り込みませんでした（{why}）"


def too_big(megabytes: str, limit: str) -> str:
    return f"提出フォルダが大きすぎるため取り込みませんでした（{megabytes} MB、上限 {limit} MB）"


def not_regular(name: str) -> str:
    return f"「{name}」は通常のファイルではありません"


def not_regular_not_used(name: str) -> str:
    return f"「{name}」は通常のファイルではないため、採点に使いませんでした"


# -- preprocessors/, exporters/: the feedback --
NO_ALT = "（説明のない画像）"
PASSED = "合格"  # in the release notebook's visible tests' print(...) of a pass, removed from the feedback


def picture_caption(title: str, quantity: str) -> str:
    return f"{title}: {quantity}（可視テストの入力で）"


def picture_text(caption: str) -> str:
    return f"<図: {caption}>"


# -- glue.py: for the instructor --
def feedback_failed(error: str) -> str:
    return "（nbgrader generate_feedback が失敗しました: " + error + "）"
