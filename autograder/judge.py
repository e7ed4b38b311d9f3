"""The judge: score one submission with the hidden pytest graders, outside the student's process.

    results = grade_notebook(Path("submission.ipynb"))     # Gradescope-shaped dict

It reads the notebook with nbformat, takes the student's answer cells by nbgrader grade_id and
the trusted given cells from source/, loads them into a StudentProcess, and runs pytest on
autograder/graders in this process with JudgePlugin, which turns test outcomes into points
from the rubric. Whatever the submission does, a complete results dict comes back.
"""
from __future__ import annotations

import json
import os
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest

from .assignment import GIVEN_PREFIX, Rubric, load_rubric, source_notebook
from .student import StudentError, StudentProcess

GRADERS = Path(__file__).resolve().parent / "graders"


def grade_id(cell: Any) -> str:
    meta = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell, dict) else {}
    gid = meta.get("grade_id", "") if isinstance(meta, dict) else ""
    return gid if isinstance(gid, str) else ""


class SubmissionError(Exception):
    """The file is not a notebook we can read; the message is for the student (Japanese)."""


def read_submission(path: Path) -> Any:
    try:
        nb = nbformat.read(str(path), as_version=4)
    except FileNotFoundError:
        raise SubmissionError(f"提出ファイル {path.name} が見つかりません") from None
    except Exception as exc:  # not JSON, not a notebook, unknown nbformat...
        raise SubmissionError(f"提出ファイル {path.name} をノートブックとして読めません（{type(exc).__name__}）") from None
    if not isinstance(nb.get("cells"), list):
        raise SubmissionError(f"提出ファイル {path.name} にセルがありません")
    return nb


def collect_cells(submission: Any, rubric: Rubric) -> tuple[list[tuple[str, str, bool]], dict[str, str]]:
    """Cells to load, in the source's order: given code from source/, answers from the student.

    Returns (cells, problems) where problems maps a part's answer cell to why it is missing."""
    answers: dict[str, str] = {}
    for cell in submission.cells:
        gid = grade_id(cell)
        if gid in rubric.answer_cells and cell.get("cell_type") == "code" and gid not in answers:
            src = cell.get("source", "")
            answers[gid] = "".join(src) if isinstance(src, list) else str(src)
    exercises = {p.answer_cell for p in rubric.parts.values() if p.kind == "exercise"}
    source = nbformat.read(str(source_notebook()), as_version=4)
    cells, problems = [], {}
    for cell in source.cells:
        gid = grade_id(cell)
        if cell.cell_type != "code":
            continue
        if gid.startswith(GIVEN_PREFIX):
            cells.append((gid, cell.source, True))
        elif gid in rubric.answer_cells:
            if gid in answers:
                cells.append((gid, answers[gid], gid not in exercises))
            else:
                problems[gid] = f"解答セル「{gid}」が提出ノートブックに見つかりません（セルを削除したか、grade_id を変えていませんか？）"
    return cells, problems


@dataclass
class TestOutcome:
    part: str
    name: str
    nodeid: str
    passed: bool
    message: str


class JudgePlugin:
    """Collects pytest outcomes of the graders and maps them onto the rubric."""

    is_nb74_judge = True

    def __init__(self, proc: StudentProcess, rubric: Rubric, cell_problems: dict[str, str]):
        self.proc, self.rubric, self.cell_problems = proc, rubric, cell_problems
        self.outcomes: dict[str, TestOutcome] = {}
        self.cases: Counter[tuple[str, str]] = Counter()
        self.order = {name: i for i, name in enumerate(rubric.parts)}

    @staticmethod
    def part_of(item: Any) -> str:
        return Path(str(item.path)).stem.removeprefix("test_")

    @staticmethod
    def test_name(item: Any) -> str:
        return getattr(item, "originalname", None) or item.name

    def pytest_collection_modifyitems(self, items: list[Any]) -> None:
        items.sort(key=lambda it: self.order.get(self.part_of(it), len(self.order)))
        for it in items:
            self.cases[(self.part_of(it), self.test_name(it))] += 1

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: Any, call: Any):
        report = yield
        failed_setup = report.when == "setup" and report.failed
        if report.when == "call" or failed_setup:
            message = "OK" if report.passed else self.explain(call.excinfo, item)
            self.outcomes[item.nodeid] = TestOutcome(self.part_of(item), self.test_name(item), item.nodeid,
                                                     report.passed, message)
        return report

    def explain(self, excinfo: Any, item: Any) -> str:
        if excinfo is None:
            return "失敗しました"
        exc = excinfo.value
        if isinstance(exc, (AssertionError, StudentError)):
            text = str(exc).split("\nassert ")[0].strip() or "テストに失敗しました"
        else:  # a fault of the grader itself: log it for staff, never show the student a traceback
            print(f"grader error in {item.nodeid}:\n{excinfo.getrepr(style='short')}", file=sys.stderr)
            text = f"採点中にエラーが発生しました（{type(exc).__name__}）。担当教員に連絡してください"
        part = self.rubric.parts.get(self.part_of(item))
        if part and part.answer_cell in self.cell_problems:
            text = f"{self.cell_problems[part.answer_cell]}。{text}"
        return text

    def points(self, outcome: TestOutcome) -> float:
        part = self.rubric.parts[outcome.part]
        total = part.tests.get(outcome.name, 0.0)
        return total / max(1, self.cases[(outcome.part, outcome.name)])

    def parts_with_full_points(self) -> set[str]:
        by_part: dict[str, list[bool]] = defaultdict(list)
        for o in self.outcomes.values():
            by_part[o.part].append(o.passed)
        return {p for p, ok in by_part.items() if ok and all(ok)}


def _empty_results(rubric: Rubric, message: str, isolation: str) -> dict[str, Any]:
    tests = [{"name": f"{p.title}", "part": p.name, "score": 0.0, "max_score": p.points,
              "status": "failed", "output": message} for p in rubric.parts.values()]
    return {"score": 0.0, "max_score": rubric.max_score, "output": message, "tests": tests,
            "isolation": isolation}


def grade_notebook(path: Path, isolation: str = "auto") -> dict[str, Any]:
    """Grade one submitted notebook; always returns a complete Gradescope-shaped results dict."""
    rubric = load_rubric()
    try:
        submission = read_submission(Path(path))
    except SubmissionError as exc:
        return _empty_results(rubric, str(exc), isolation)
    cells, problems = collect_cells(submission, rubric)
    with StudentProcess(isolation=isolation) as proc:
        for outcome in proc.load(cells):
            if not outcome.ok:
                problems.setdefault(outcome.cell, outcome.message)
        plugin = JudgePlugin(proc, rubric, problems)
        os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        pytest.main(["-c", str(GRADERS / "pytest.ini"), "--rootdir", str(GRADERS),
                     "-p", "no:terminal", str(GRADERS)], plugins=[plugin])
        level = proc.level
    return build_results(plugin, rubric, level)


def build_results(plugin: JudgePlugin, rubric: Rubric, isolation: str) -> dict[str, Any]:
    tests, seen_parts = [], set()
    for o in sorted(plugin.outcomes.values(), key=lambda o: (plugin.order.get(o.part, 99), o.nodeid)):
        part = rubric.parts.get(o.part)
        if part is None:
            continue
        seen_parts.add(o.part)
        max_score = plugin.points(o)
        label = o.nodeid.split("::", 1)[-1]
        tests.append({"name": f"{part.title} :: {label}", "part": o.part,
                      "score": round(max_score if o.passed else 0.0, 6), "max_score": round(max_score, 6),
                      "status": "passed" if o.passed else "failed", "output": o.message})
    for part in rubric.parts.values():  # a part whose graders did not run still counts its points
        if part.name not in seen_parts:
            tests.append({"name": part.title, "part": part.name, "score": 0.0, "max_score": part.points,
                          "status": "failed", "output": "採点できませんでした（テストが実行されませんでした）"})
    score = round(sum(t["score"] for t in tests), 6)
    return {"score": score, "max_score": rubric.max_score, "tests": tests, "isolation": isolation}


def part_scores(results: dict[str, Any]) -> dict[str, float]:
    scores: dict[str, float] = defaultdict(float)
    for t in results["tests"]:
        scores[t["part"]] += t["score"]
    return dict(scores)


def write_results(results: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(results, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
