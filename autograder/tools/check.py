"""`python -m autograder check [<assignment>]`: does the kit grade as its author meant, before a
class is graded with it?

The rubric and the notebooks first (every part has tests, every test points > 0, each test cell of
the source and release notebooks carries its part's points, they add up to the maximum), then the
real judge, sandbox included, on: the solution (full marks, no diagnosis), the release (0), every
bug of the assignment's catalog (autograder/assignments/<a>/graders/catalog/: it loses points on its own part only
and gets the diagnosis the catalog names) and its equivalent correct forms (full marks). No grader
may raise. The notebooks are graded by the batch's pool (autograder/routes/batch/pool.py), whose
workers keep one fork server each; the workers' stderr (grader tracebacks) goes to a log, whose first
traceback the report shows. Every expectation that fails is one row of the report: what, and why.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..course.assignment import Assignment, Rubric, assignment, judged
from ..feedback.terminal import columns, pad
from ..intake.submissions import Submission
from ..results import GRADER_ERROR, Results
from ..routes.batch.pool import LocalPool, _die_with_parent
from ..sandbox.levels import IsolationRequest
from . import messages as say

TOL = 1e-9  # points


@dataclass(frozen=True)
class Failure:
    what: str  # the submission or file concerned
    why: str


@dataclass
class Report:
    assignment: str
    graded: int = 0
    seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)
    traceback: str = ""  # the first grader traceback the workers logged

    @property
    def ok(self) -> bool:
        return not self.failures


# -- the rubric and the notebooks ---------------------------------------------------------------


def rubric_failures(kit: Assignment) -> list[Failure]:
    rubric = kit.rubric
    found = [Failure(say.RUBRIC, say.part_without_tests(p.name)) for p in rubric.parts.values() if not p.tests]
    for notebook in (kit.source(), kit.release()):
        name = notebook.relative_to(notebook.parents[2]).as_posix()
        points = test_cell_points(notebook)
        for part in rubric.parts.values():
            if part.test_cell not in points:
                found.append(Failure(name, say.test_cell_missing(name, part.test_cell, part.name)))
            elif points[part.test_cell] is None or abs((points[part.test_cell] or 0) - part.points) > TOL:
                found.append(
                    Failure(
                        name, say.test_cell_points(name, part.test_cell, points[part.test_cell], part.name, part.points)
                    )
                )
        total = sum(p or 0.0 for p in points.values())
        if abs(total - rubric.max_score) > TOL:
            found.append(Failure(name, say.total_points(name, total, rubric.max_score)))
    return found


def test_cell_points(notebook: Path) -> dict[str, float | None]:
    """grade_id -> points of the notebook's nbgrader test cells (graded cells that are no answer)."""
    found: dict[str, float | None] = {}
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            points = meta.get("points")
            found[meta.get("grade_id", "")] = float(points) if isinstance(points, (int, float)) else None
    return found


def load_catalog(kit: Assignment) -> tuple[Any, list[Failure]]:
    """The assignment's catalog (its graders/catalog/; None if it does not import), and what is wrong with it."""
    import importlib

    rubric = kit.rubric
    try:
        catalog = importlib.import_module(f"{kit.package}.graders.catalog")
    except Exception as exc:  # a catalog entry whose edit no longer applies to the solution
        return None, [Failure(say.CATALOG, say.catalog_unreadable(f"{type(exc).__name__}: {exc}"))]
    found = []
    answers = set(rubric.answer_cells)
    for e in catalog.BUGS + catalog.FORMS:
        if e.part not in rubric.parts:
            found.append(Failure(say.CATALOG, say.catalog_no_part(e.name, e.part)))
        if e.cell not in answers:
            found.append(Failure(say.CATALOG, say.catalog_no_cell(e.name, e.cell)))
    names = {e.name for e in catalog.BUGS}
    found += [Failure(say.CATALOG, say.catalog_unknown_diagnosis(n)) for n in catalog.DIAGNOSES if n not in names]
    found += [
        Failure(say.CATALOG, say.part_without_bug(p)) for p in rubric.parts if p not in {e.part for e in catalog.BUGS}
    ]
    return catalog, found


# -- the notebooks graded -----------------------------------------------------------------------

Expectation = Callable[[Results], list[str]]


def full_marks(rubric: Rubric) -> Expectation:
    def expect(results: Results) -> list[str]:
        if abs(results.score - results.max_score) > TOL:
            lost = [p for p, s in results.part_scores().items() if s < rubric.parts[p].points - TOL]
            return [say.not_full_marks(results.score, results.max_score, lost)]
        if results.diagnoses:
            return [say.diagnosed_correct(sorted({d.part for d in results.diagnoses}))]
        return []

    return expect


def zero(results: Results) -> list[str]:
    if results.score > TOL:
        return [say.not_zero(results.score, [p for p, s in results.part_scores().items() if s > TOL])]
    return []


def loses_its_part(rubric: Rubric, part: str, note: str, want: Any) -> Expectation:
    """A bug: points lost on `part` only, and the catalog's diagnosis (code, or (code, factor name))."""

    def expect(results: Results) -> list[str]:
        parts = rubric.parts
        scores = results.part_scores()
        found = []
        if scores.get(part, 0.0) >= parts[part].points - TOL:
            found.append(say.unnoticed(part, note))
        others = [p for p, s in scores.items() if p != part and s < parts[p].points - TOL]
        if others:
            found.append(say.costs_other_parts(part, others))
        elsewhere = sorted({d.part for d in results.diagnoses} - {part})
        if elsewhere:
            found.append(say.diagnosis_elsewhere(elsewhere))
        if want is not None:
            code, factor = want if isinstance(want, tuple) else (want, None)
            got = [(d.code, d.factor_name) for d in results.part_diagnoses(part)]
            if not any(c == code and (factor is None or f == factor) for c, f in got):
                shown = [f"{c}（{f}）" if f else c for c, f in got]
                found.append(say.wrong_diagnosis(part, f"{code}（{factor}）" if factor else code, shown))
        return found

    return expect


@dataclass(frozen=True)
class Case:
    what: str  # as the report names it
    replace: dict[str, str] | None  # answer cells replaced in the solution; None: the release as it is
    expect: Expectation
    part: str = ""  # a bug's part


def cases(catalog: Any, rubric: Rubric) -> list[Case]:
    found = [Case(say.SOLUTION, {}, full_marks(rubric)), Case(say.RELEASE, None, zero)]
    if catalog is not None:
        for e in catalog.BUGS:
            expect = loses_its_part(rubric, e.part, e.note, catalog.DIAGNOSES.get(e.name))
            found.append(Case(say.bug(e.name), {e.cell: e.source}, expect, e.part))
        for group in catalog.forms_by_round():
            found.append(
                Case(say.forms([e.name for e in group]), {e.cell: e.source for e in group}, full_marks(rubric))
            )
    return found


def write_notebook(path: Path, case: Case, kit: Assignment) -> Path:
    base = kit.release() if case.replace is None else kit.solution()
    nb = json.loads(base.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if case.replace and gid in case.replace:
            cell["source"] = case.replace[gid]
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")
    return path


def _quiet_worker(log_dir: str) -> None:
    """A worker of the check's pool: the batch's initializer, then its stderr (the graders'
    tracebacks, one per failing test) into a log of its own instead of the terminal."""
    _die_with_parent()
    fd = os.open(os.path.join(log_dir, f"worker-{os.getpid()}.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 2)
    os.close(fd)


class QuietPool(LocalPool):
    def __init__(self, workers: int, log_dir: Path):
        self.log_dir = log_dir
        super().__init__(workers)

    def _new(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.workers, initializer=_quiet_worker, initargs=(str(self.log_dir),), max_tasks_per_child=200
        )


def first_traceback(log_dir: Path, lines: int = 12) -> str:
    """The first grader error the workers logged, a grader that raised first: its header and the
    end of its traceback (where the grader raised; pytest's own frames come first)."""
    logs = [log.read_text(encoding="utf-8", errors="replace").splitlines() for log in sorted(log_dir.glob("worker-*"))]
    for header in ("grader error in ", "grader error"):
        for text in logs:
            starts = [i for i, line in enumerate(text) if line.startswith("grader error")]
            first = next((i for i in starts if text[i].startswith(header)), None)
            if first is not None:
                end = next((i for i in starts if i > first), len(text))
                block = text[first:end]
                return "\n".join(block[:1] + (["  ..."] if len(block) > lines + 1 else []) + block[1:][-lines:])
    return ""


def graded_parts(results: Results, only: str = "") -> Results:
    """The results without the parts a grader broke (reported once, see grader_errors), so the
    other parts' expectations still hold or fail; with `only`, that part alone (the others may
    depend on the broken one: the MLP chains the layers)."""
    from dataclasses import replace

    broken = set(results.grader_errors)
    if not broken:
        return results
    tests = tuple(t for t in results.tests if t.part not in broken and (not only or t.part == only))
    return replace(results, tests=tests, score=sum(t.score for t in tests), max_score=sum(t.max_score for t in tests))


def grader_errors(graded: dict[str, Results], rubric: Rubric) -> list[Failure]:
    """Each part a grader broke, once, with its failing cases and how many submissions it hit."""
    cases: dict[str, dict[str, None]] = {}
    hit: dict[str, int] = {}
    for results in graded.values():
        for part in results.grader_errors:
            hit[part] = hit.get(part, 0) + 1
            for t in results.part_tests(part):
                if t.status == GRADER_ERROR:
                    cases.setdefault(part, {})[t.name.case or t.output] = None
    return [
        Failure(say.GRADERS, say.grader_raised(rubric.parts[p].title, p, list(cases[p]), hit[p]))
        for p in rubric.parts
        if p in hit
    ]


def check(name: str, workers: int = 2, isolation: IsolationRequest = "auto") -> Report:
    report = Report(name)
    start = time.monotonic()
    try:
        kit = assignment(name)
        rubric = kit.rubric
    except (ValueError, KeyError) as exc:
        report.failures.append(Failure(say.RUBRIC, say.rubric_unreadable(str(exc))))
        return report
    missing = [n for n in (kit.source(), kit.release(), kit.solution()) if not n.is_file()]
    if missing:  # nothing to compare or grade: build first
        report.failures += [
            Failure(n.name, say.notebook_missing(n.relative_to(n.parents[2]).as_posix())) for n in missing
        ]
        return report
    report.failures += rubric_failures(kit)
    catalog, wrong = load_catalog(kit)
    report.failures += wrong
    todo = cases(catalog, rubric)
    with tempfile.TemporaryDirectory(prefix="nb74-check-") as tmp:
        root, logs = Path(tmp) / "course", Path(tmp) / "logs"
        logs.mkdir()
        subs, by_label = [], {}
        for i, case in enumerate(todo):
            label = f"c{i:04d}"
            path = write_notebook(root / "submitted" / label / name / f"{rubric.notebook}.ipynb", case, kit)
            subs.append(Submission(label, path, "", "", None))
            by_label[label] = case
        pool = QuietPool(workers, logs)
        graded: dict[str, Results] = {}
        try:
            for sub, text in pool.map(subs, name, isolation):
                graded[sub.student] = Results.from_json(text)
        finally:
            pool.close()
        report.traceback = first_traceback(logs)
    report.graded = len(graded)
    report.failures += grader_errors(graded, rubric)
    for label, case in by_label.items():
        results = graded[label]
        if case.part in results.grader_errors:
            continue  # a bug of a part its grader broke: reported once above
        if results.refused:
            report.failures.append(Failure(case.what, say.refused(results.output or "")))
            continue
        report.failures += [Failure(case.what, why) for why in case.expect(graded_parts(results, case.part))]
    report.seconds = time.monotonic() - start
    return report


def format_report(report: Report, width: int = 40) -> str:
    lines = [say.summary(report.assignment, report.graded, report.seconds, len(report.failures))]
    if report.failures:
        what = min(width, max(columns(f.what) for f in report.failures) + 2)
        lines.append(f"  {pad(say.HEADER_WHAT, what)}{say.HEADER_WHY}")
        for f in report.failures:
            shown = f.what if columns(f.what) < what else f.what[: what // 2 - 2] + "…"
            lines.append(f"  {pad(shown, what)}{f.why}")
        if report.traceback:
            lines.append(say.first_traceback(report.traceback))
        lines.append(say.FIX_FIRST)
    return "\n".join(lines)


def main(assignment: str | None, workers: int, isolation: IsolationRequest) -> int:
    """The CLI's `check`: the report on stdout; 0 if every expectation holds, EXIT_GRADER_ERROR if
    any fails (the kit's authoring is broken), EXIT_USAGE for an assignment the kit does not grade."""
    import sys

    from ..course.assignment import only_assignment
    from ..course.exit_codes import EXIT_GRADED, EXIT_GRADER_ERROR, EXIT_INTERRUPTED, EXIT_USAGE

    try:
        name = assignment or only_assignment().name
        refused = not judged(name)
    except (ValueError, KeyError) as exc:  # a rubric that does not load: nothing can be graded
        print(format_report(Report(assignment or "?", failures=[Failure(say.RUBRIC, say.rubric_unreadable(str(exc)))])))
        return EXIT_GRADER_ERROR
    if refused:
        print(say.not_judged(name), file=sys.stderr)
        return EXIT_USAGE
    try:
        report = check(name, workers=workers, isolation=isolation)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    print(format_report(report))
    return EXIT_GRADED if report.ok else EXIT_GRADER_ERROR
