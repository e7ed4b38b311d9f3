"""The judge's own Japanese messages: the problems of a whole submission (its time budgets) and what
a test says when the grader could not tell more. The graders' messages are in each assignment's graders/messages.py."""

from __future__ import annotations

from ..results import GRADER_ERROR, Results

FAILED = "失敗しました"
TEST_FAILED = "テストに失敗しました"
CONTACT_STAFF = "担当教員に連絡してください"
GRADERS_DID_NOT_RUN = "採点プログラムが実行されませんでした"  # a part none of whose graders ran: the kit's failure


def own_cell(n: int) -> str:
    """The name messages give the student's n-th own code cell."""
    return f"自作セル{n}"


def grader_does_not_import(nodeid: str, why: str) -> str:
    """For the instructor: a grader module that does not import (its part cannot be graded)."""
    return f"{nodeid}: 採点プログラムを読み込めません\n{why}"


def no_rubric_part(part: str) -> str:
    return f"test_{part}.py: rubric.toml に部分 [parts.{part}] がありません"


def no_points(part: str, test: str) -> str:
    return f"test_{part}.py::{test}: rubric.toml の [parts.{part}.tests] に配点がありません"


def no_grader(part: str, test: str) -> str:
    return f"rubric.toml [parts.{part}.tests] の {test} を定義する採点プログラムがありません"


def grader_error(kind: str) -> str:
    return f"採点中にエラーが発生しました（{kind}）。{CONTACT_STAFF}"


def slow_statements(cells_seconds: float, slow_statement: float, skipped: list[str]) -> str:
    """The problem naming the statements strict loading skipped (sandbox/budget.py, CELLS_BUDGET)."""
    shown = "、".join(skipped[:10]) + (f" ほか {len(skipped) - 10} 文" if len(skipped) > 10 else "")
    return (
        f"セルの実行時間の合計が {cells_seconds:g} 秒を超えたため、そこから先は "
        f"{slow_statement:g} 秒以上かかるトップレベルの文を飛ばして採点しました: {shown}。"
        "時間のかかる処理（長い sleep やループ、学習）をセルのトップレベルに置かないでください"
    )


def out_of_time(submission_seconds: float, cell_seconds: float, restarts: int, titles: list[str]) -> str:
    """The problem naming what the submission's wall-clock budget left ungraded, and where it went."""
    shown = "、".join(f"「{title}」" for title in titles)
    restarted = f"、止まった文のための学生のプロセスの再起動 {restarts} 回" if restarts else ""
    return (
        f"提出全体の採点時間の上限（{submission_seconds:g} 秒）を使い切ったため、採点を打ち切りました"
        f"（セルの実行に計 {cell_seconds:.1f} 秒{restarted}）。採点できなかった部分（残りのテストは 0 点）: {shown}。"
        "終わらない処理（無限ループ、長い sleep）やプロセスを終了させる文がないか確認してください"
    )


def grader_error_report(results: Results) -> str:
    """For the instructor: which parts and tests the kit could not grade (results.GRADER_ERROR)."""
    titles = {t.part: t.name.title for t in results.tests}
    lines = [
        "採点プログラム（autograder/assignments/<課題>/ の graders/ または rubric.toml）の誤りのため、次の部分を採点できませんでした。"
        "点数は記録していません（学生の誤りではありません）。採点プログラムを直してから採点し直してください:"
    ]
    for part in results.grader_errors:
        tests = [t.name.case for t in results.tests if t.part == part and t.status == GRADER_ERROR]
        lines.append(f"  - {titles.get(part, part)}（{part}）: {', '.join(dict.fromkeys(tests))}")
    return "\n".join(lines)


NOTHING_WRITTEN = "結果は書き出していません。"
INTERRUPTED = "採点が中断されました。結果は書き出していません（もう一度採点してください）"


def which_assignment(file: str, tied: list[str], known: list[str]) -> str:
    """`grade` without --assignment, when the file does not tell which assignment it is."""
    if tied:
        why = f"{file} は複数の課題（{'、'.join(tied)}）に同じくらい当てはまり、どの課題か決められません。"
    else:
        why = f"{file} がどの課題（{'、'.join(known) or 'なし'}）のノートブックか分かりません。"
    return why + "--assignment 課題名 で課題を指定してください"


def unknown_assignment(name: str, known: list[str]) -> str:
    return f"課題 {name} はこのキットにありません（あるのは {'、'.join(known) or 'なし'}）。--assignment で指定してください"
