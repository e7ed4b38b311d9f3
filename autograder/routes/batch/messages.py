"""The batch's Japanese: the notes and reasons it records for a submission (the student reads them in
the feedback) and what the instructor reads in the terminal while and after it grades a class."""

from __future__ import annotations

# -- recorded for the student (coordinator.py, pool.py) --
NO_TIMESTAMP = "提出時刻を記録できなかったため、提出時刻なしで採点しました"


def not_recorded(error: str) -> str:
    return f"採点結果を記録できませんでした（{error}）。担当教員に連絡してください"


def process_crashed(kind: str) -> str:
    return f"採点プロセスが異常終了しました（{kind}）"


def worker_crashed(kind: str) -> str:
    return f"採点ワーカーが異常終了しました（{kind}）"


# -- the terminal (coordinator.py) --
PROGRESS = "採点"
UNIT = "件"
FAILED = "失敗"
SUBMISSIONS = "提出"
GRADED = "今回採点"
SKIPPED = "変更なしで省略"
FAILURES = "採点に問題あり"
MEAN = "平均点（今回採点分）"
SECONDS = "所要時間"
WITH_PROBLEMS = "問題のあった提出: "
GRADER_ERRORS = "採点プログラムのエラーのため記録しなかった提出（採点プログラムを直して再実行してください）: "
NO_FEEDBACK = "フィードバックを作れなかった提出: "
INTERRUPTED = "採点が中断されました。記録済みの提出は残っています（もう一度実行すると続きを採点します）"
NOT_RECORDED_SEE_LOG = "採点結果を記録できませんでした（エラーはバッチのログにあります）。担当教員に連絡してください"


def not_judged(assignment: str) -> str:
    """The batch refusing an assignment the kit has no graders for (nbgrader grades it)."""
    return (
        f"課題 {assignment} の採点プログラムはありません（このキットが採点するのは採点プログラムのある課題だけです）。"
        f"nbgrader autograde {assignment} で採点してください"
    )
