"""The judge: score one submission with the hidden pytest graders, outside the student's process.

    results = grade_notebook(Path("submission.ipynb"))     # Gradescope-shaped dict

It reads the notebook with nbformat, takes the student's answer cells by nbgrader grade_id and
the trusted given cells from source/, loads them into a StudentProcess, and runs pytest on
autograder/graders in this process with judge_plugin.JudgePlugin, which turns test outcomes into points
from the rubric. Whatever the submission does, a complete results dict comes back.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from contextlib import nullcontext
from functools import cache
from pathlib import Path
from typing import Any

from .assignment import GIVEN_PREFIX, Rubric, load_rubric, source_notebook
from .intake import SubmissionError, read_notebook
from .sandbox.fork_server import ForkServer
from .sandbox.process import StudentProcess
from .sandbox.received import clean_text

GRADERS = Path(__file__).resolve().parent / "graders"
# Built-in pytest plugins the graders do not use: skipping them saves start-up time per grade.
UNUSED_PYTEST_PLUGINS = (
    "terminal",
    "doctest",
    "junitxml",
    "pastebin",
    "unittest",
    "legacypath",
    "tmpdir",
    "monkeypatch",
    "recwarn",
    "stepwise",
    "setuponly",
    "setupplan",
    "faulthandler",
    "logging",
    "warnings",
    "debugging",
    "threadexception",
    "unraisableexception",
    "cacheprovider",
    "capture",
)
MAX_OUTPUT_CHARS = 2000  # one test's message in the results (student text in it is bounded before)


def grade_id(cell: Any) -> str:
    meta = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell, dict) else {}
    gid = meta.get("grade_id", "") if isinstance(meta, dict) else ""
    return gid if isinstance(gid, str) else ""


class GradeInterrupted(KeyboardInterrupt):
    """The grade was interrupted (Ctrl-C, SIGINT): no result may be recorded for it.

    A KeyboardInterrupt, so that `except Exception` (the batch worker's) lets it through: the CLI
    then writes no results file, the batch records nothing for the submission (a rerun grades it),
    and nbgrader's autograde records no grade."""


def read_submission(path: Path) -> dict[str, Any]:
    """The notebook as a dict with a list of cells (nbformat 4), read by autograder.intake: a
    regular file only (never through a link), strict UTF-8, bounded size and nesting."""
    return read_notebook(Path(path)).notebook


def collect_cells(submission: Any, rubric: Rubric) -> tuple[list[tuple[str, str, bool]], dict[str, str]]:
    """Cells to load, in the source's order: given code from source/, answers from the student.

    Returns (cells, problems) where problems maps a part's answer cell to why it is missing."""
    answers: dict[str, str] = {}
    for cell in submission["cells"]:
        gid = grade_id(cell)
        if gid in rubric.answer_cells and cell.get("cell_type") == "code" and gid not in answers:
            src = cell.get("source", "")
            answers[gid] = "".join(src) if isinstance(src, list) else str(src)
    exercises = {p.answer_cell for p in rubric.parts.values() if p.kind == "exercise"}
    cells, problems = [], {}
    for cell in source_cells():
        gid = grade_id(cell)
        if cell.get("cell_type") != "code":
            continue
        if gid.startswith(GIVEN_PREFIX):
            cells.append((gid, cell["source"], True))
        elif gid in rubric.answer_cells:
            if gid in answers:
                cells.append((gid, answers[gid], gid not in exercises))
            else:
                problems[gid] = (
                    f"解答セル「{gid}」が提出ノートブックに見つかりません（セルを削除したか、grade_id を変えていませんか？）"
                )
    return cells, problems


@cache
def source_cells() -> list[dict[str, Any]]:
    """The trusted given code comes from here, never from the submission."""
    cells = json.loads(source_notebook().read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(cell["source"])
    return cells


def _empty_results(rubric: Rubric, message: str, isolation: str) -> dict[str, Any]:
    tests = [
        {
            "name": f"{p.title}",
            "part": p.name,
            "score": 0.0,
            "max_score": p.points,
            "status": "failed",
            "output": message,
        }
        for p in rubric.parts.values()
    ]
    return {
        "score": 0.0,
        "max_score": rubric.max_score,
        "output": message,
        "tests": tests,
        "isolation": isolation,
        "problems": [message],
    }


def grade_notebook(
    path: Path, isolation: str = "auto", server: ForkServer | None = None, proc: StudentProcess | None = None
) -> dict[str, Any]:
    """Grade one submitted notebook file; always returns a complete Gradescope-shaped results dict."""
    return grade_submission(Path(path), isolation=isolation, server=server, proc=proc)


def grade_submission(
    submission: Path | dict[str, Any],
    isolation: str = "auto",
    server: ForkServer | None = None,
    proc: StudentProcess | None = None,
) -> dict[str, Any]:
    """Grade a notebook given as a file or as an already-read notebook dict.

    proc: a fresh StudentProcess the caller has already spawned (and will close), as the CLI does
    before importing NumPy and pytest; by default one is made here."""
    rubric = load_rubric()
    with nullcontext(proc) if proc is not None else StudentProcess(isolation=isolation, server=server) as proc:
        if proc.control is None:
            proc.spawn()  # the student process imports NumPy while we read the notebook
        if isinstance(submission, Path):
            try:
                submission = read_submission(submission)
            except SubmissionError as exc:
                return _empty_results(rubric, str(exc), proc.level)
        cells, problems = collect_cells(submission, rubric)
        # they run, and a child per part is forked, while pytest is imported and collects the graders
        proc.preload(cells, forks=len(rubric.parts))
        import pytest

        from .course_secret import submission_key
        from .judge_plugin import JudgePlugin

        # the plugin loads the cells when a test needs them; the key draws this submission's hidden inputs
        plugin = JudgePlugin(proc, rubric, problems, cells, inputs_key=submission_key(cells))
        os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        args = ["-c", str(GRADERS / "pytest.ini"), "--rootdir", str(GRADERS), "--assert=plain", str(GRADERS)]
        for name in UNUSED_PYTEST_PLUGINS:
            args += ["-p", f"no:{name}"]
        pytest.main(args, plugins=[plugin])
        if plugin.interrupted:  # pytest turns Ctrl-C into a partial run: record nothing
            raise GradeInterrupted()
        plugin.ensure_loaded()  # cell problems are reported even if no grader ran
        level = proc.recorded_level  # the isolation in effect, with its layers (sandbox/process.py)
    results = build_results(plugin, rubric, level)
    results["problems"] = sorted({clean_text(p, MAX_OUTPUT_CHARS) for p in set(problems.values()) | plugin.incidents})
    return results


def build_results(plugin: Any, rubric: Rubric, isolation: str) -> dict[str, Any]:
    tests, seen_parts = [], set()
    for o in sorted(plugin.outcomes.values(), key=lambda o: (plugin.order.get(o.part, 99), o.nodeid)):
        part = rubric.parts.get(o.part)
        if part is None:
            continue
        seen_parts.add(o.part)
        max_score = plugin.points(o)
        label = o.nodeid.rsplit("::", 1)[-1]  # the test and its case: "test_gradients[1x4]"
        tests.append(
            {
                "name": f"{part.title} :: {label}",
                "part": o.part,
                "score": round(max_score if o.passed else 0.0, 6),
                "max_score": round(max_score, 6),
                "status": "passed" if o.passed else "failed",
                "output": clean_text(o.message, MAX_OUTPUT_CHARS),
            }
        )  # the last bound on any text
    for part in rubric.parts.values():  # a part whose graders did not run still counts its points
        if part.name not in seen_parts:
            tests.append(
                {
                    "name": part.title,
                    "part": part.name,
                    "score": 0.0,
                    "max_score": part.points,
                    "status": "failed",
                    "output": "採点できませんでした（テストが実行されませんでした）",
                }
            )
    score = round(sum(t["score"] for t in tests), 6)
    return {"score": score, "max_score": rubric.max_score, "tests": tests, "isolation": isolation}


def part_scores(results: dict[str, Any]) -> dict[str, float]:
    scores: dict[str, float] = defaultdict(float)
    for t in results["tests"]:
        scores[t["part"]] += t["score"]
    return dict(scores)


def write_results(results: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(results, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
