"""The judge: score one submission with the hidden pytest graders, outside the student's process.

    results = grade(Path("submission.ipynb"), assignment("nb74_matrix_backprop"))  # Results (autograder/results.py)
    write_results(results, Path("results.json"))  # the Gradescope-shaped file

It reads the notebook with nbformat, takes the student's answer cells by nbgrader grade_id and
the trusted given cells from source/, loads them into a StudentProcess, and runs pytest on the
assignment's graders/ in this process with judge_plugin.JudgePlugin, which turns test outcomes into points
from the rubric. Whatever the submission does, complete Results come back.
"""

from __future__ import annotations

import json
import os
from contextlib import nullcontext
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

from ..course.assignment import GIVEN_PREFIX, Assignment, Rubric
from ..course.messages import GRADER_ERROR_MESSAGE
from ..intake.definitions import definitions
from ..intake.read import SubmissionError, release_skeleton, take_in
from ..intake.skeleton import grade_id, text
from ..results import (
    FAILED,
    GRADER_ERROR,
    PASSED,
    Confinement,
    Diagnosis,
    Picture,
    Results,
    TestName,
    TestResult,
)
from ..sandbox.fork_server import ForkServer
from ..sandbox.levels import IsolationRequest
from ..sandbox.process import StudentProcess
from ..sandbox.received import clean_text
from ..sandbox.side import StudentSide
from . import messages as say

PYTEST_INI = Path(__file__).resolve().parents[1] / "graders" / "pytest.ini"  # the engine's, for every assignment
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


class GradeInterrupted(KeyboardInterrupt):
    """The grade was interrupted (Ctrl-C, SIGINT): no result may be recorded for it.

    A KeyboardInterrupt, so that `except Exception` (the batch worker's) lets it through: the CLI
    then writes no results file, the batch records nothing for the submission (a rerun grades it),
    and nbgrader's autograde records no grade."""


def read_submission(path: Path, assignment: Assignment) -> dict[str, Any]:
    """The canonical notebook of a submitted file (autograder.intake.read.take_in)."""
    return take_in(Path(path), release_skeleton(assignment)).notebook


def collect_cells(submission: Any, assignment: Assignment) -> tuple[list[tuple[str, str, bool]], dict[str, str]]:
    """Cells to load, in the canonical notebook's order (the release's): the given code from
    source/, the answers, and the definitions of the student's own code cells (named 自作セル1, ...).

    Returns (cells, problems); problems maps a cell to why it cannot be graded (none today: the
    canonical notebook has every answer cell, the release's stub where the student had none)."""
    rubric = assignment.rubric
    given = {grade_id(c): c["source"] for c in source_cells(assignment) if grade_id(c).startswith(GIVEN_PREFIX)}
    exercises = {p.answer_cell for p in rubric.parts.values() if p.kind == "exercise"}
    names = given_names(assignment)
    cells: list[tuple[str, str, bool]] = []
    own = 0
    for cell in submission["cells"]:
        if cell.get("cell_type") != "code":
            continue
        gid, src = grade_id(cell), text(cell.get("source", ""))
        if gid in given:
            cells.append((gid, given[gid], True))
        elif gid in rubric.answer_cells:
            cells.append((gid, src, gid not in exercises))
        elif not gid and (defined := definitions(src, names)).strip():
            own += 1
            cells.append((say.own_cell(own), defined, True))  # named so in messages: the student's own cell
    return cells, {}


@cache
def given_names(assignment: Assignment) -> frozenset[str]:
    return release_skeleton(assignment).given


@cache
def source_cells(assignment: Assignment) -> list[dict[str, Any]]:
    """The trusted given code comes from here, never from the submission."""
    cells: list[dict[str, Any]] = json.loads(assignment.source().read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(cell["source"])
    return cells


def grade(
    submission: Path | dict[str, Any],
    assignment: Assignment,
    isolation: IsolationRequest = "auto",
    server: ForkServer | None = None,
    proc: StudentProcess | None = None,
    diagnosing: bool = True,
) -> Results:
    """Grade a notebook file, or a canonical notebook (autograder.intake.read.take_in), of the
    assignment (its rubric, its graders, its source and release); always complete.

    proc: a fresh StudentProcess the caller has already spawned (and will close), as the CLI does
    before importing NumPy and pytest; by default one is made here. diagnosing: name the mistake
    a failing gradient shows (False only to measure what that costs)."""
    rubric = assignment.rubric
    with (
        nullcontext(proc)
        if proc is not None
        else StudentProcess(isolation=isolation, server=server, side=StudentSide.for_grading(assignment.folder)) as proc
    ):
        proc.budget.start_submission()  # every wait for the student from here on ends with it
        if proc.control is None:
            proc.spawn()  # the student process imports NumPy while we read the notebook
        notes: list[str] = []
        if isinstance(submission, Path):
            try:
                taken = take_in(submission, release_skeleton(assignment))
            except SubmissionError as exc:
                return Results.empty(rubric, str(exc), Confinement(proc.level))  # no layer confirmed yet
            submission, notes = taken.notebook, taken.notes
        cells, problems = collect_cells(submission, assignment)
        # they run, and a child per part is forked, while pytest is imported and collects the graders
        proc.preload(cells, forks=len(rubric.parts))
        import pytest

        from ..course.secret import submission_key
        from .plugin import JudgePlugin

        # the plugin loads the cells when a test needs them; the key draws this submission's hidden inputs
        plugin = JudgePlugin(proc, assignment, problems, cells, inputs_key=submission_key(cells), diagnosing=diagnosing)
        os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        graders = assignment.graders_dir
        args = ["-c", str(PYTEST_INI), "--rootdir", str(graders), "--assert=plain", str(graders)]
        for name in UNUSED_PYTEST_PLUGINS:
            args += ["-p", f"no:{name}"]
        ahead = PicturesProcess(proc, rubric)  # started at the first failing backward test (one-shot)
        try:
            pytest.main(args, plugins=[plugin] + ([ahead] if diagnosing else []))
            if plugin.interrupted:  # pytest turns Ctrl-C into a partial run: record nothing
                raise GradeInterrupted()
            plugin.ensure_loaded()  # cell problems are reported even if no grader ran
            # what the sandbox achieved: the level, with the layers the student process confirmed
            results = build_results(plugin, assignment, proc.confinement)
            if diagnosing and results.diagnoses:
                results = replace(results, pictures=picture_data(proc, assignment, results, ahead))
        finally:
            ahead.close()
    found = sorted({clean_text(p, MAX_OUTPUT_CHARS) for p in set(problems.values()) | plugin.incidents})
    if proc.slow_skipped:
        found.insert(0, clean_text(slow_statements(proc), MAX_OUTPUT_CHARS))
    if plugin.cut_parts:
        found.insert(0, clean_text(out_of_time(proc, rubric, plugin.cut_parts), MAX_OUTPUT_CHARS))
    return replace(results, problems=tuple(found)).with_notes(notes)


def slow_statements(proc: StudentProcess) -> str:
    """The problem naming the statements strict loading skipped (sandbox/budget.py, CELLS_BUDGET)."""
    skipped = list(dict.fromkeys(proc.slow_skipped))
    return say.slow_statements(proc.budget.cells_seconds, proc.budget.slow_statement, skipped)


def out_of_time(proc: StudentProcess, rubric: Rubric, cut: set[str]) -> str:
    """The problem naming what the submission's wall-clock budget left ungraded, and where it went."""
    titles = [part.title for name, part in rubric.parts.items() if name in cut]
    return say.out_of_time(proc.budget.submission_seconds, proc.cell_seconds, proc.restarts, titles)


PICTURES_BUDGET = 3.0  # seconds for all the pictures' round trips (a few ms each when nothing hangs)


class PicturesProcess:
    """The feedback's pictures come from a student process of their own, given the same cells, never
    from `proc`: its children saw the hidden inputs,
    and anything they left (a hidden W stashed in the sandbox's /tmp, a thread of the zygote that
    read it) would reach a later fork. As a pytest plugin, it starts that process in the background
    at the first failing test of a backward part in one-shot grading (a sandbox of its own), so it
    imports NumPy and runs the cells while the graders go on; with a fork server (batch workers) it
    is made after grading, as a new zygote, for which the server clears what earlier ones left."""

    def __init__(self, proc: StudentProcess, rubric: Rubric) -> None:
        self.proc = proc
        self.backward = {p for p in rubric.parts if rubric.parts[p].kind == "backward"}
        self.fresh: StudentProcess | None = None

    def pytest_runtest_logreport(self, report: Any) -> None:
        from .plugin import part_of_file  # (pytest is loaded: this is its hook)

        if self.fresh is None and self.proc.server is None and report.failed:
            if part_of_file(report.fspath) in self.backward:
                self.started()

    def started(self) -> StudentProcess | None:
        """The pictures' process, asked to load the cells (once); None when a statement hung or ended
        the process at load (loading again would cost as much again: no pictures then)."""
        if self.fresh is None and not self.proc.skips:
            proc = self.proc
            self.fresh = StudentProcess(isolation=proc.isolation, server=proc.server, spin=proc.spin, side=proc.side)
            self.fresh.spawn()
            self.fresh.preload(list(self.proc.cells))
        return self.fresh

    def close(self) -> None:
        if self.fresh is not None:
            self.fresh.close()
            self.fresh = None


def picture_data(
    proc: StudentProcess, assignment: Assignment, results: Results, ahead: PicturesProcess
) -> tuple[Picture, ...]:
    """The numbers of the feedback's pictures for each diagnosed backward part (autograder/judge/pictures.py),
    in ahead's process, within a short budget of their own; a failure costs only the pictures."""
    import time

    from .pictures import graded_cell_sources, pictures

    rubric = assignment.rubric
    parts = [p for p in rubric.parts if rubric.parts[p].kind == "backward" and results.part_diagnoses(p)]
    if not parts:
        return ()
    try:
        fresh = ahead.started()
        if fresh is None:
            return ()
        with fresh.budget.until(time.monotonic() + PICTURES_BUDGET):
            fresh.load(list(proc.cells))
            return tuple(pictures(fresh.part_session, assignment, parts, graded_cell_sources(source_cells(assignment))))
    except Exception:
        return ()


def build_results(plugin: Any, assignment: Assignment, confinement: Confinement) -> Results:
    """The plugin's outcomes in the rubric's part order, then by test label (a grader's class, if
    any, is not part of the label). A test whose grader raised is a grading error (GRADER_ERROR,
    no points: the kit's failure, see plugin.explain); so is every test of a part the kit cannot
    grade at all (plugin.broken_parts: a grader module that does not import, graders and rubric
    points that disagree) and a part whose graders did not run."""
    rubric = assignment.rubric
    tests: list[TestResult] = []
    seen_parts = set()
    broken: dict[str, str] = plugin.broken_parts
    for o in sorted(plugin.outcomes.values(), key=lambda o: (plugin.order.get(o.part, 99), o.case)):
        part = rubric.parts.get(o.part)
        if part is None or o.part in broken:
            continue
        seen_parts.add(o.part)
        max_score = plugin.points(o)
        score = round(max_score if o.passed else 0.0, 6)
        output = clean_text(o.message, MAX_OUTPUT_CHARS)  # the last bound on any text
        status = PASSED if o.passed else GRADER_ERROR if o.grader_error else FAILED
        tests.append(TestResult(TestName(part.title, o.case), o.part, score, round(max_score, 6), status, output))
    for part in rubric.parts.values():
        if part.name not in seen_parts:  # nothing of it was graded: the graders', not the student's, doing
            why = broken[part.name].splitlines()[0] if part.name in broken else say.GRADERS_DID_NOT_RUN
            name = TestName(part.title, clean_text(why, 300))  # for the instructor (the report, JUnit)
            tests.append(TestResult(name, part.name, 0.0, part.points, GRADER_ERROR, GRADER_ERROR_MESSAGE))
    score = round(sum(t.score for t in tests), 6)
    return Results(
        score, rubric.max_score, tests_in_order(tests, rubric), confinement, diagnoses=diagnoses(plugin, assignment)
    )


def tests_in_order(tests: list[TestResult], rubric: Rubric) -> tuple[TestResult, ...]:
    order = {name: i for i, name in enumerate(rubric.parts)}
    return tuple(sorted(tests, key=lambda t: order.get(t.part, len(order))))  # stable: labels stay sorted


def diagnoses(plugin: Any, assignment: Assignment) -> tuple[Diagnosis, ...]:
    """The failed tests' findings, one per (part, quantity), in the rubric's part order: a family
    only where every case of the part agrees with it, else "not sure" (the assignment's
    public/agreement.py: agree_findings, asked only when a test found something)."""
    rubric = assignment.rubric
    by_part: dict[str, list[Any]] = {}
    for o in sorted(plugin.outcomes.values(), key=lambda o: plugin.order.get(o.part, 99)):
        if not o.passed and o.part in rubric.parts:
            by_part.setdefault(o.part, []).extend(o.findings)
    return tuple(
        Diagnosis(part, f.quantity, f.code, clean_text(f.message, MAX_OUTPUT_CHARS), f.factor, f.factor_name)
        for part, found in by_part.items()
        if found
        for f in assignment.public("agreement").agree_findings(found)
    )


def write_results(results: Results, path: Path) -> None:
    """The results file (Results.to_json): the one place the CLI's results leave the process."""
    path.write_text(results.to_json(), encoding="utf-8")
