"""The Japanese of the authoring tools: what `python -m autograder build` writes into the source and
release notebooks (the points table of the instructions and the comments of the given cell that
defines the visible tests' namespace (nb74, ...): generated content a student reads; the checks' own
messages are in each assignment's public/), and what `python -m autograder check` tells the instructor
(autograder/tools/check.py)."""

from __future__ import annotations

# -- the points table (a markdown cell of the instructions) --
TABLE_HEADER = "| 採点される箇所 | 節 | 配点 |"


def table_total(max_score: float) -> str:
    return f"| **合計** | | **{max_score:g}** |"


# -- the given cell of an assignment's namespace (nb74, ...): its comments and the module's docstring --


def namespace_comment(folder: str, namespace: str, example: str) -> list[str]:
    """folder: the assignment's public folder (autograder/assignments/<a>/public/); example: a call."""
    return [
        "# 可視テストのチェック関数（編集不要・自動生成）: 採点と同じ見立て（どの間違いか）と、フィードバックと同じ図のコード",
        f"# （講座のキットの {folder} のモジュール）を、",
        f"# ノートブックの変数と名前がぶつからないよう {namespace} という名前空間にまとめます。可視テストのセルが",
        f"# {example} のように呼びます。隠しテストの入力は含みません。",
    ]


NAMESPACE_DOC = "可視テストのチェック関数（自動生成）"
FOR_TRACEBACKS = "# エラー表示用"
INSTALL = "# 未実装（NotImplementedError）などを 1 行の日本語で表示する"


# -- python -m autograder check --

SOLUTION = "模範解答"
RELEASE = "配布版"
RUBRIC = "rubric.toml"
CATALOG = "誤りの例の一覧"
GRADERS = "採点プログラム"


def bug(name: str) -> str:
    return f"誤りの例 {name}"


def forms(names: list[str]) -> str:
    return "正しい別解 " + ", ".join(names)


def not_judged(assignment: str) -> str:
    return f"課題 {assignment} の採点プログラムはありません（点検できるのは、このキットが採点する課題だけです）"


# -- what the rubric and the notebooks say ------------------------------------------------------


def rubric_unreadable(why: str) -> str:
    return f"読み込めません: {why}"


def part_without_tests(part: str) -> str:
    return f"[parts.{part}] にテストがありません（部分の点数は 0 になります）"


def test_cell_points(notebook: str, cell: str, got: float | None, part: str, want: float) -> str:
    shown = "なし" if got is None else f"{got:g}"
    return (
        f"{notebook} のテストセル {cell} の配点 {shown} が [parts.{part}] のテストの合計 {want:g} と違います"
        "（python -m autograder build で作り直してください）"
    )


def notebook_missing(notebook: str) -> str:
    return f"{notebook} がありません（python -m autograder build で作ってください）"


def test_cell_missing(notebook: str, cell: str, part: str) -> str:
    return f"{notebook} に [parts.{part}] のテストセル {cell} がありません"


def total_points(notebook: str, got: float, want: float) -> str:
    return f"{notebook} のテストセルの配点の合計 {got:g} が満点 {want:g} と違います"


def catalog_unreadable(why: str) -> str:
    return f"読み込めません: {why}"


def catalog_no_part(name: str, part: str) -> str:
    return f"{name} の部分 {part} が rubric.toml にありません"


def catalog_no_cell(name: str, cell: str) -> str:
    return f"{name} のセル {cell} は解答セルではありません"


def catalog_unknown_diagnosis(name: str) -> str:
    return f"DIAGNOSES の {name} は誤りの例にありません"


def part_without_bug(part: str) -> str:
    return f"部分 {part} を減点する誤りの例がありません"


# -- what grading them gave ---------------------------------------------------------------------


def grader_raised(title: str, part: str, cases: list[str], submissions: int) -> str:
    shown = ", ".join(cases[:4]) + (f" ほか {len(cases) - 4} 件" if len(cases) > 4 else "")
    return f"{title}（{part}）を採点できません（{submissions} 件の提出で）: {shown}"


def not_full_marks(score: float, max_score: float, parts: list[str]) -> str:
    return f"満点になりません（{score:g} / {max_score:g}、減点された部分: {', '.join(parts)}）"


def not_zero(score: float, parts: list[str]) -> str:
    return f"0 点になりません（{score:g} 点、点の入った部分: {', '.join(parts)}）"


def unnoticed(part: str, note: str) -> str:
    return f"{part} で減点されません（{note}）"


def costs_other_parts(part: str, others: list[str]) -> str:
    return f"{part} 以外でも減点されます: {', '.join(others)}"


def wrong_diagnosis(part: str, want: str, got: list[str]) -> str:
    return f"{part} の見立てが {want} になりません（見立て: {', '.join(got) or 'なし'}）"


def diagnosis_elsewhere(parts: list[str]) -> str:
    return f"ほかの部分にも見立てが出ます: {', '.join(parts)}"


def diagnosed_correct(parts: list[str]) -> str:
    return f"正しいのに見立てが出ます: {', '.join(parts)}"


def refused(why: str) -> str:
    return f"採点できませんでした: {why}"


def first_traceback(text: str) -> str:
    return f"最初の採点プログラムのエラー:\n{text}"


# -- the report ---------------------------------------------------------------------------------

HEADER_WHAT, HEADER_WHY = "対象", "理由"


def summary(assignment: str, graded: int, seconds: float, failed: int) -> str:
    verdict = "すべての期待が満たされています" if not failed else f"満たされていない期待が {failed} 件あります"
    return f"採点キットの点検（{assignment}）: {graded} 件を採点、所要時間 {seconds:.1f} 秒。{verdict}"


FIX_FIRST = "採点キットの作りに誤りがあります。直してから採点してください（このままでは学生の点数が正しくなりません）"
