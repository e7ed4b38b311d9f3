"""The support matrix: the correct notebook as editors save it and students change it, graded on
every route, scores full marks, with a note for the student exactly where the intake recovered or
normalised something (issue 22, "What it must show").

Fixtures (tests/editors.py): saved by real JupyterLab 4 and Notebook 7 in headless Chromium, the
shapes VS Code and Colab write, metadata lost, answers merged or split, a helper cell added, cells
reordered, invalid ids, a test cell deleted, a renamed file, nbformat 4.0-4.5 and 3.
Routes, each started once for every fixture: `python -m autograder grade --json` (one per
fixture), one `python -m autograder batch` over a course with every fixture as a student, one real
`nbgrader autograde` over a copy of that course, Gradescope's run_autograder (one set-up image,
one run per fixture), the CI grading script autograder/routes/ci/grade.sh run once in a copy of the
kit with every fixture in its submitted/ (as collect.py lays it out).

What counts as "a note" on each route: the CLI and the batch's journal, Results.notes plus
Results.problems (submission-level messages); nbgrader, the autograded notebook's first
"### 採点メモ" cell (and its lines in the gradebook's comments); Gradescope, the output's lines
other than the total and the isolation level.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from autograder.course.assignment import ROOT
from autograder.intake.messages import MEMO_TITLE
from tests import course as c
from tests import editors, run_folder
from tests.browser import LOAD_TIMEOUT
from tests.nb74 import NB74

pytestmark = pytest.mark.slow

RUBRIC = NB74.rubric
FULL = RUBRIC.max_score  # 100
ROUTES = ("cli", "batch", "nbgrader", "gradescope", "ci")


@dataclass(frozen=True)
class Cell:
    """One fixture graded on one route."""

    score: float | None  # None: no grade at all
    notes: tuple[str, ...]  # the submission-level messages the student sees
    seconds: float = 0.0

    @property
    def noted(self) -> bool:
        return bool(self.notes)


# -- the fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser(chromium: Any) -> Iterator[Any]:
    """tests/browser.py's headless Chromium (no name resolves but loopback), with time for JupyterLab."""
    chromium.set_page_load_timeout(60)
    try:
        yield chromium
    finally:
        chromium.set_page_load_timeout(LOAD_TIMEOUT)


# Each fixture and route below is made once per run, by whichever of the suite's workers asks first,
# in the run's folder (tests/run_folder.py), and read back by the others: its value is kept as JSON.


def _run_wide(name: str, make: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """make(folder) once per run; its value (a dict of dataclasses) as written then."""

    def made(folder: Path) -> None:
        value = {k: dataclasses.asdict(v) for k, v in make(folder).items()}
        (folder / "value.json").write_text(json.dumps(value, default=str), encoding="utf-8")

    return json.loads((run_folder.built(f"support-matrix-{name}", made) / "value.json").read_text(encoding="utf-8"))


def _cells(value: dict[str, Any]) -> dict[str, Cell]:
    return {k: Cell(v["score"], tuple(v["notes"]), v["seconds"]) for k, v in value.items()}


@pytest.fixture(scope="session")
@run_folder.run_wide
def fixtures(request: pytest.FixtureRequest) -> dict[str, editors.Fixture]:
    def make(folder: Path) -> dict[str, editors.Fixture]:
        start = time.monotonic()
        made = {**editors.build_jupyter(folder, request.getfixturevalue("browser")), **editors.build_cheap(folder)}
        print(f"\nsupport matrix: {len(made)} fixtures built in {time.monotonic() - start:.1f} s (two Jupyter saves)")
        return made

    value = _run_wide("fixtures", make)
    return {k: editors.Fixture(v["name"], Path(v["path"]), v["noted"], v["what"]) for k, v in value.items()}


def test_jupyter_saves_are_the_editors(fixtures: dict[str, editors.Fixture]) -> None:
    """The Jupyter fixtures are what the editor wrote: the typed edit is there, the nbgrader
    metadata survived and the kernel's language_info was filled in by the running kernel."""
    for name in editors.JUPYTER:
        nb = json.loads(fixtures[name].path.read_text(encoding="utf-8"))
        assert editors.EDIT_MARK in json.dumps(nb, ensure_ascii=False), name
        assert "version" in nb["metadata"]["language_info"], name  # written by the live kernel, not by us
        gids = [cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") for cell in nb["cells"]]
        assert set(editors.ANSWERS) <= set(gids), name


# -- the routes -------------------------------------------------------------------------------------


def _messages(results: dict[str, Any]) -> tuple[str, ...]:
    return (*results.get("notes", ()), *(results.get("problems") or ()))


@pytest.fixture(scope="session")
@run_folder.run_wide
def cli(fixtures: dict[str, editors.Fixture]) -> dict[str, Cell]:
    """`python -m autograder grade <file> --json`, one process per fixture (two at a time)."""
    return _cells(_run_wide("cli", lambda folder: _cli_route(fixtures, folder)))


def _cli_route(fixtures: dict[str, editors.Fixture], out_dir: Path) -> dict[str, Cell]:
    def grade(name: str, fx: editors.Fixture) -> Cell:
        out = out_dir / f"{name}.json"
        start = time.monotonic()
        cmd = [sys.executable, "-m", "autograder", "grade", str(fx.path), "--json", str(out)]
        subprocess.run(cmd, cwd=ROOT, capture_output=True, timeout=300, check=False)
        seconds = time.monotonic() - start
        if not out.exists():
            return Cell(None, ("(no results written)",), seconds)
        results = json.loads(out.read_text(encoding="utf-8"))
        return Cell(float(results["score"]), _messages(results), seconds)

    with ThreadPoolExecutor(2) as pool:
        return dict(zip(fixtures, pool.map(grade, fixtures, fixtures.values())))


@pytest.fixture(scope="session")
@run_folder.run_wide
def course(fixtures: dict[str, editors.Fixture]) -> Path:
    """A released course with every fixture submitted by the student of the same name: read only."""

    def make(folder: Path) -> None:
        root = c.make_course(folder / "course")
        c.add_students(root, list(fixtures))
        for name, fx in fixtures.items():
            c.place(root, name, fx.path, name=fx.path.name)

    return run_folder.built("support-matrix-course", make) / "course"


@pytest.fixture(scope="session")
@run_folder.run_wide
def _course_routes(course: Path) -> tuple[dict[str, Cell], dict[str, Cell]]:
    """The batch and nbgrader autograde, each over its own copy of the course, at the same time."""

    def make(folder: Path) -> dict[str, Cell]:
        batch_root = c.copy_course(course, folder / "batch" / "course", fresh_db=False)
        nbgrader_root = c.copy_course(course, folder / "nbgrader" / "course", fresh_db=False)
        by_batch, by_nbgrader = c.concurrently(
            lambda: _batch_route(course, batch_root), lambda: _nbgrader_route(course, nbgrader_root)
        )
        return {
            **{f"batch/{k}": v for k, v in by_batch.items()},
            **{f"nbgrader/{k}": v for k, v in by_nbgrader.items()},
        }

    both = _cells(_run_wide("batch-and-nbgrader", make))
    by = {route: {k.split("/", 1)[1]: v for k, v in both.items() if k.startswith(route + "/")} for route in ROUTES}
    return by["batch"], by["nbgrader"]


@pytest.fixture(scope="session")
@run_folder.run_wide
def batch(_course_routes: tuple[dict[str, Cell], dict[str, Cell]]) -> dict[str, Cell]:
    return _course_routes[0]


@pytest.fixture(scope="session")
@run_folder.run_wide
def nbgrader(_course_routes: tuple[dict[str, Cell], dict[str, Cell]]) -> dict[str, Cell]:
    return _course_routes[1]


def _batch_route(course: Path, root: Path) -> dict[str, Cell]:
    """One `python -m autograder batch` over the course; scores and results from the gradebook."""
    start = time.monotonic()
    done = c.batch(root, "--workers", "2", "--no-feedback", check=False)
    seconds = time.monotonic() - start
    print(f"\nbatch: exit {done.returncode} in {seconds:.1f} s")
    from autograder.routes.nbgrader_hooks.gradebook import JudgeGradebook

    with JudgeGradebook(c.sqlite_url(root)) as gb:
        results = gb.judge_results(c.A)
    scores = c.scores(root / "gradebook.db")
    return {
        name: Cell(
            scores.get(name, {}).get("_total") if name in results else None,
            tuple(results[name].messages()) if name in results else ("(not graded)",),
            seconds / len(scores or [1]),
        )
        for name in _students(course)
    }


def _students(course: Path) -> list[str]:
    return sorted(p.name for p in (course / "submitted").iterdir())


def _memo(notebook: Path) -> tuple[str, ...]:
    """The lines of the notebook's first cell if it is the intake's memo."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    src = cells[0]["source"] if cells else ""
    text = "".join(src) if isinstance(src, list) else src
    if not text.startswith(MEMO_TITLE):
        return ()
    return tuple(line[2:] for line in text.splitlines() if line.startswith("- "))


def _nbgrader_route(course: Path, root: Path) -> dict[str, Cell]:
    """One real `nbgrader autograde` (the kit's nbgrader_config.py) over a copy of the course."""
    start = time.monotonic()
    done = c.nbgrader(root, "autograde", c.A, check=False)
    seconds = time.monotonic() - start
    print(f"\nnbgrader autograde: exit {done.returncode} in {seconds:.1f} s")
    scores, comments = c.scores(root / "gradebook.db"), c.comments(root / "gradebook.db")
    got = {}
    for name in _students(course):
        graded = sorted((root / "autograded" / name / c.A).glob("*.ipynb"))
        memo = _memo(graded[0]) if graded else ("(no autograded notebook)",)
        # the memo's lines are also in the gradebook's comments (what formgrader and feedback show)
        missing = [m for m in memo if graded and re.sub(r"\\(.)", r"\1", m)[:12] not in comments.get(name, "")]
        notes = (*memo, *(f"(not in the gradebook's comments: {m})" for m in missing))
        score = scores[name]["_total"] if name in scores and graded else None
        got[name] = Cell(score, notes, seconds / max(len(scores), 1))
    return got


@pytest.fixture(scope="session")
@run_folder.run_wide
def gradescope(fixtures: dict[str, editors.Fixture], request: pytest.FixtureRequest) -> dict[str, Cell]:
    """The run's one set-up Gradescope image (tests/conftest.py), run_autograder once per fixture."""

    def make(folder: Path) -> dict[str, Cell]:
        gs = request.getfixturevalue("gradescope_image")
        got = {}
        for name, fx in fixtures.items():
            start = time.monotonic()
            results = gs.submit({fx.path.name: fx.path})
            lines = str(results.get("output", "")).splitlines()
            notes = tuple(ln for ln in lines if not ln.startswith(("合計 ", "隔離レベル: ")))
            got[name] = Cell(float(results["score"]), notes, time.monotonic() - start)
        return got

    return _cells(_run_wide("gradescope", make))


@pytest.fixture(scope="session")
@run_folder.run_wide
def ci(course: Path) -> dict[str, Cell]:
    """autograder/routes/ci/grade.sh as the workflow's Grade step runs it, in a copy of the kit (as
    tests/test_ci_instructor.py makes one) with the course's submitted/ folder."""
    return _cells(_run_wide("ci", lambda folder: _ci_route(course, folder)))


def _ci_route(course: Path, folder: Path) -> dict[str, Cell]:
    import shutil

    from autograder.routes.nbgrader_hooks.gradebook import JudgeGradebook

    kit = folder / "kit"
    c.copy_kit(kit)
    shutil.copytree(course / "submitted", kit / "submitted")
    env = {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}"}
    env.update(GRADING_ISOLATION="auto")
    env.pop("GITHUB_STEP_SUMMARY", None)
    start = time.monotonic()
    done = subprocess.run(
        ["bash", "autograder/routes/ci/grade.sh", "reports"],
        cwd=kit,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    seconds = time.monotonic() - start
    print(f"\nci grade.sh: exit {done.returncode} in {seconds:.1f} s")
    with JudgeGradebook(c.sqlite_url(kit)) as gb:
        results = gb.judge_results(c.A)
    scores = c.scores(kit / "gradebook.db") if (kit / "gradebook.db").exists() else {}
    return {
        name: Cell(
            scores.get(name, {}).get("_total") if name in results else None,
            tuple(results[name].messages()) if name in results else ("(not graded)",),
            seconds / max(len(scores), 1),
        )
        for name in _students(course)
    }


# -- the matrix ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("name", editors.NAMES)
def test_full_marks(
    request: pytest.FixtureRequest, fixtures: dict[str, editors.Fixture], name: str, route: str
) -> None:
    cell: Cell = request.getfixturevalue(route)[name]
    assert cell.score == FULL, f"{name} on {route}: {cell.score} of {FULL:g}; {cell.notes}"


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("name", editors.NAMES)
def test_note_where_recovered(
    request: pytest.FixtureRequest, fixtures: dict[str, editors.Fixture], name: str, route: str
) -> None:
    """A note for the student exactly where the intake recovered or normalised the notebook."""
    cell: Cell = request.getfixturevalue(route)[name]
    fx = fixtures[name]
    if name == "renamed" and route == "cli":
        # `grade FILE` grades the file it is given; the routes that choose among a student's files
        # (batch, nbgrader's pre-convert hook, Gradescope) say which one they chose and why
        assert not cell.noted, cell.notes
    elif fx.noted:
        assert cell.noted, f"{name} on {route}: no note for the student ({fx.what})"
    else:
        assert not cell.noted, f"{name} on {route}: an unexpected note: {cell.notes}"
    assert not any(n.startswith("(not in the gradebook") for n in cell.notes), cell.notes


@pytest.mark.parametrize("name", editors.NAMES)
def test_same_score_on_every_route(
    request: pytest.FixtureRequest, fixtures: dict[str, editors.Fixture], name: str
) -> None:
    """One intake: whatever a notebook earns, it earns on every route."""
    got = {route: request.getfixturevalue(route)[name].score for route in ROUTES}
    assert len(set(got.values())) == 1, f"{name}: {got}"


def matrix_markdown(fixtures: dict[str, editors.Fixture], grid: dict[str, dict[str, Cell]]) -> str:
    """The matrix as a Markdown table: fixture x route -> score, note yes/no."""
    head = "| notebook | " + " | ".join(grid) + " | note expected |"
    rows = [head, "|" + "---|" * (len(grid) + 2)]
    for name, fx in fixtures.items():
        cells = []
        for route in grid:
            cell = grid[route].get(name)
            if cell is None:
                cells.append("-")
                continue
            score = "no grade" if cell.score is None else f"{cell.score:g}"
            cells.append(f"{score}, note {'yes' if cell.noted else 'no'}")
        rows.append(f"| {name}: {fx.what} | " + " | ".join(cells) + f" | {'yes' if fx.noted else 'no'} |")
    return "\n".join(rows)


def test_print_matrix(request: pytest.FixtureRequest, fixtures: dict[str, editors.Fixture], capsys: Any) -> None:
    """Prints the whole matrix (and each note) whatever the other tests found; fails if a route
    gave a fixture no result at all."""
    grid = {route: request.getfixturevalue(route) for route in ROUTES}
    table = matrix_markdown(fixtures, grid)
    with capsys.disabled():
        print(f"\n\nSupport matrix (score of {FULL:g}, note for the student):\n{table}\n")
        for route, by_name in grid.items():
            for name, cell in by_name.items():
                for note in cell.notes:
                    print(f"  {route:10} {name:18} {note}")
            print(f"  {route}: {sum(x.seconds for x in by_name.values()):.1f} s for {len(by_name)} notebooks")
    out = Path(os.environ.get("NB74_MATRIX_OUT", "")) if os.environ.get("NB74_MATRIX_OUT") else None
    if out:
        out.write_text(table + "\n", encoding="utf-8")
    assert all(set(by_name) == set(fixtures) for by_name in grid.values())
