"""The reports' Japanese: what the instructor reads in the class report (its page, tables and plots),
the CI's step summary and the JUnit report. The judge's messages they quote are the lower layers'."""

from __future__ import annotations

# -- the gradebook beside the judge's results (graded.py) --
NO_RESULTS = "判定結果が記録されていません（この提出は判定結果を残す前の版で採点されました。再採点してください）"
LOADING = "判定結果を読み込み中"
PEOPLE = "人"


def out_of_step(got: str, want: str) -> str:
    return f"成績簿の自動採点の点数（{got}）が判定結果（{want}）と一致しません（再採点してください）"


# -- the class report's CSV files and page (page.py, tables.py, plots.py) --
TOTAL = "合計"
HAS_RESULTS = "判定結果"
YES, NO = "あり", "なし"
DIAGNOSES_HEADER = ["部分", "量", "コード", "見立て", "人数", "メッセージ", "このメッセージの人数", "学生"]
FAILURES_HEADER = ["部分", "テスト", "不合格", "採点した提出", "割合", "学生"]
PROBLEMS_HEADER = ["学生", "種類", "理由"]
URL_NOT_SHOWN = "（URL を表示できません）"
OUT_OF_STEP_KIND = "記録の問題"
REFUSED_KIND = "採点できず"
PROBLEM_KIND = "採点の問題"
NOTE_KIND = "注記"
COUNT_AXIS = "人数"
TOTALS_AXIS = "合計点"


def totals_title(n: int) -> str:
    return f"合計点の分布（{n} 人）"


def part_axis(points: float) -> str:
    return f"点（満点 {points:g}）"


# -- the JUnit report (junit.py) --
def points(score: float, max_score: float) -> str:
    return f"得点: {score:g} / {max_score:g}"


def diagnosis(message: str) -> str:
    return f"見立て: {message}"


# -- the CI's step summary (summary.py) --
HEADER = "| {who} | 得点 | 合格 | 不合格 | 最初の不合格メッセージ | 見立て |\n|---|---:|---:|---:|---|---|"
ITEM = "項目"
STUDENT = "学生"


def grade_title(name: str, score: float, max_score: float) -> str:
    return f"### 採点結果: {name}: {score:g} / {max_score:g} 点"


def confinement(text: str) -> str:
    return f"隔離: {text}"


def class_title(n: int, mean: float, max_score: float, skipped: int) -> str:
    return f"### クラスの採点結果: {n} 人を採点、平均 {mean:.2f} / {max_score:g} 点" + (
        f"（うち {skipped} 人は変更なしで前回の結果）" if skipped else ""
    )


def not_recorded_for_grader_error(count: int, shown: str) -> str:
    return f"⚠ 採点プログラムのエラーのため点数を記録しなかった提出 {count} 件（採点プログラムを直して再実行してください）: {shown}"


def not_graded(count: int, shown: str) -> str:
    return f"⚠ 採点できなかった提出 {count} 件: {shown}"


def part_heading(title: str, points: float) -> str:
    return f"#### {title}（{points:g} 点）"


def class_row(n: int, mean: float, points: float, passed: int, failed: int) -> str:
    return f"| **クラス（{n} 人）** | 平均 {mean:.2f} / {points:g} | {passed} | {failed} | | |"


def cut_short(title: str) -> str:
    return f"…これ以降の項目は長すぎるため省略しました（JUnit の報告にすべてあります）: {title} ほか"
