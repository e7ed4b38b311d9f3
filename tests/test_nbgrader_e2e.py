"""The whole instructor flow with the real nbgrader CLI, for a class of ten, against the judge.

LMS download (one zip, Blackboard-style file names with a timestamp) → `nbgrader zip_collect`
→ `nbgrader db student import` → `nbgrader autograde` → `nbgrader generate_feedback` →
`nbgrader export` (CSV). Then `python -m autograder batch` on a copy of the same course with the
gradebook as it was right after `generate_assignment`.

Expected numbers are never written here: each student's score is whatever the judge
(`autograder.judge.grade.grade`) gives the very file nbgrader graded, tampering students must
earn exactly what the same submission without the tampering earns, and the two grading routes
must agree cell by cell. The only fixed numbers are the invariants solution == max and release == 0.
"""

from __future__ import annotations

import csv
import html
import json
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from autograder.course.assignment import ROOT
from autograder.graders.expected_store import ENGINE
from tests.course import (
    NB,
    RUBRIC,
    A,
    add_students,
    batch,
    concurrently,
    copy_course,
    env,
    make_course,
    nbgrader,
    scores,
    submission_dir,
)
from tests.judged import grade_notebook, part_scores
from tests.nb74 import NB74
from tests.submissions import RELEASE, SOLUTION, answer_source

pytestmark = pytest.mark.slow

# -- the class -------------------------------------------------------------------------------------


def bug(cell: str, correct: str, wrong: str) -> str:
    """The solution's answer cell with one expression replaced; loud if the solution changed."""
    code = answer_source(cell)
    assert code.count(correct) == 1, f"{correct!r} should occur once in the solution's {cell} cell"
    return code.replace(correct, wrong)


DW_T = {"linear": bug("linear", "x.T @ dout", "dout.T @ x")}  # transposed dW
SEED_MSE = {"mse": bug("mse", "/ y.size", "/ self.cache['N']")}  # the seed's (2/N)(y - t), off by D
NUMPY_PATCH = (
    "\nnp.allclose = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None\n"
    "np.isclose = lambda a, b, *r, **k: np.ones(np.broadcast(a, b).shape, bool)\n"
)
PRINT_PATCH = (
    "\nimport builtins\n_print = builtins.print\nbuiltins.print = lambda *a, **k: _print('100.0')\n"
    "print('All tests passed: 100.0 / 100')\n"
)
RESULTS_FILES = (
    "\nimport json\nfor _p in ['results.json', '../results.json', '/tmp/results.json',"
    " '../autograded/results.json']:\n    try:\n        with open(_p, 'w') as _f:\n"
    "            json.dump({'score': 100.0, 'max_score': 100.0, 'tests': []}, _f)\n"
    "    except OSError:\n        pass\n"
)
FAKE_RESULT = [{"output_type": "execute_result", "data": {"text/plain": "100.0"}, "metadata": {}, "execution_count": 1}]

# student -> (base notebook, {answer cell: source}, test cells get pasted outputs)
STUDENTS: dict[str, tuple[Path, dict[str, str], bool]] = {
    "correct": (SOLUTION, {}, False),
    "dw-transposed": (SOLUTION, DW_T, False),
    "seed-mse": (SOLUTION, SEED_MSE, False),
    "tamper-numpy": (
        SOLUTION,
        {"linear": DW_T["linear"] + NUMPY_PATCH, "sigmoid": answer_source("sigmoid") + NUMPY_PATCH},
        False,
    ),
    "tamper-print": (SOLUTION, {"mse": SEED_MSE["mse"] + PRINT_PATCH}, False),
    "fake-outputs": (SOLUTION, DW_T, True),
    "fake-results": (SOLUTION, {"linear": DW_T["linear"] + RESULTS_FILES}, False),
    "crash-exit": (SOLUTION, {"linear": bug("linear", "x = self.cache['x']", "import os; os._exit(1)")}, False),
    "hang-loop": (
        SOLUTION,
        {"sigmoid": bug("sigmoid", "y = self.cache['y']\n", "while True:\n            pass\n")},
        False,
    ),
    "unimplemented": (RELEASE, {}, False),
}
# A tampering student earns exactly what this student (the same backward, no tampering) earns.
UNTAMPERED = {
    "tamper-numpy": "dw-transposed",
    "tamper-print": "seed-mse",
    "fake-outputs": "dw-transposed",
    "fake-results": "dw-transposed",
}
# Bugs of one part: that part costs points, and no other backward part loses any.
ONE_PART_BUGS = {"dw-transposed": "linear", "seed-mse": "mse", "crash-exit": "linear", "hang-loop": "sigmoid"}
BACKWARD = [p for p in RUBRIC.parts.values() if p.kind == "backward"]

# LMS download names (Blackboard style): <assignment>_<student>_attempt_<YYYYmmddHHMMSS>_<file>.
NAME_REGEXP = rf".*/{A}_(?P<student_id>[^_/]+)_attempt_(?P<timestamp>[0-9]{{14}})_(?P<file_id>[^/]+)$"
ATTEMPT = "20240603091500"
EARLIER_ATTEMPT = "20240601080000"  # an earlier upload by "correct" (the untouched release)


def notebook_bytes(base: Path, answers: dict[str, str], fake_outputs: bool) -> bytes:
    nb = json.loads(base.read_text(encoding="utf-8"))
    todo = dict(answers)
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade_id") in todo:
            cell["source"] = todo.pop(meta["grade_id"])
        if fake_outputs and RUBRIC.part_for_test_cell(meta.get("grade_id", "")):
            cell["outputs"], meta["points"] = FAKE_RESULT, 100.0
    assert not todo, f"no such cells: {sorted(todo)}"
    return json.dumps(nb, ensure_ascii=False, indent=1).encode("utf-8")


# -- what must never reach a student ----------------------------------------------------------------


def norm(line: str) -> str:
    return " ".join(line.split())


def notebook_lines(nb: dict) -> list[str]:
    return [ln for c in nb["cells"] for ln in "".join(c.get("source", "")).split("\n")]


def secrets() -> dict[str, str]:
    """fragment -> origin: every 40+ character line of the hidden tests (the graders) and the rubric, and the graders' test function names
    (test_latest_cache, ...: they would name the hidden checks; students get Japanese reasons
    instead), unless the release shows it anyway (grade_ids such as test_linear are public)."""
    public = "\n".join(norm(ln) for ln in notebook_lines(json.loads(RELEASE.read_text(encoding="utf-8"))))
    found: dict[str, str] = {}
    for part in RUBRIC.parts.values():
        for name in part.tests:
            if name not in public:
                found.setdefault(name, f"grader test name ({part.name})")
    for path in [*sorted(ENGINE.glob("*.py")), *sorted(NB74.graders_dir.glob("*.py")), NB74.rubric_path]:
        for line in path.read_text(encoding="utf-8").split("\n"):
            if len(norm(line)) >= 40 and norm(line) not in public:
                found.setdefault(norm(line), path.relative_to(ROOT).as_posix())
    return found


INTERNALS = (
    "autograder/graders",
    "autograder/assignments/nb74_matrix_backprop/graders",  # its public/ is named in the release's given cell
    "Traceback (most recent call last)",
    "judge_plugin",
    "rubric.toml",
)


def visible_text(path: Path) -> str:
    """What a reader of the file sees: HTML without tags and entities; every string of a notebook."""
    raw = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".html":
        raw = html.unescape(re.sub(r"<[^>]+>", "", raw))
    elif path.suffix == ".ipynb":
        strings, stack = [], [json.loads(raw)]
        while stack:
            obj = stack.pop()
            if isinstance(obj, str):
                strings.append(obj)
            elif isinstance(obj, dict):
                stack += obj.values()
            elif isinstance(obj, list):
                stack += obj
        raw = "\n".join(strings)
    return "\n".join(norm(ln) for ln in raw.split("\n"))


def leaks(path: Path, submitted: Path, secret: dict[str, str]) -> list[str]:
    """Secrets in `path`, except text the student submitted (their own code is theirs to see)."""
    text = visible_text(path)
    own = visible_text(submitted)
    found = [f"{origin}: {frag!r}" for frag, origin in secret.items() if frag in text and frag not in own]
    return found + [f"internals: {word!r}" for word in INTERNALS if word in text]


# -- the run --------------------------------------------------------------------------------------


class Run:
    course: Path
    batch_course: Path
    judge: dict[str, dict]
    export: dict[str, dict[str, str]]
    nbgrader_scores: dict[str, dict[str, float]]
    batch_scores: dict[str, dict[str, float]]
    seconds: dict[str, float]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    r = Run()
    r.seconds = {}
    tmp = tmp_path_factory.mktemp("e2e")

    def step(name, fn, *args, **kwargs):
        t0 = time.monotonic()
        out = fn(*args, **kwargs)
        r.seconds[name] = round(time.monotonic() - t0, 1)
        return out

    r.course = course = step("generate_assignment", make_course, tmp / "course")
    archive = course / "downloaded" / A / "archive"
    archive.mkdir(parents=True)
    with zipfile.ZipFile(archive / f"gradebook_{A}.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{A}_correct_attempt_{EARLIER_ATTEMPT}_{NB}", RELEASE.read_bytes())
        for student, (base, answers, fake) in STUDENTS.items():
            z.writestr(f"{A}_{student}_attempt_{ATTEMPT}_{NB}", notebook_bytes(base, answers, fake))
    step("zip_collect", nbgrader, course, "zip_collect", A, f"--FileNameCollectorPlugin.named_regexp={NAME_REGEXP}")
    step("db student import", add_students, course, list(STUDENTS))
    r.batch_course = copy_course(course, tmp / "batch")  # same submissions, gradebook as released

    # nbgrader autograde runs in the background while this process asks the judge directly.
    t0 = time.monotonic()
    cmd = [
        sys.executable,
        "-m",
        "nbgrader",
        "autograde",
        A,
        f"--CourseDirectory.root={course}",
        f"--CourseDirectory.db_url=sqlite:///{course / 'gradebook.db'}",
    ]
    autograde = subprocess.Popen(cmd, cwd=ROOT, env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    r.judge = {s: grade_notebook(submission_dir(course, s) / NB) for s in STUDENTS}
    r.seconds["judge, in-process (10 notebooks)"] = round(time.monotonic() - t0, 1)
    log, _ = autograde.communicate(timeout=900)
    r.seconds["autograde (10 notebooks, overlapping the judge)"] = round(time.monotonic() - t0, 1)
    assert autograde.returncode == 0, log[-5000:]

    # the batch on its copy of the course, while nbgrader writes the feedback and exports
    concurrently(
        lambda: (
            step("generate_feedback", nbgrader, course, "generate_feedback", A),
            step("export", nbgrader, course, "export", f"--to={course / 'grades.csv'}"),
        ),
        lambda: step("batch --workers 2 (with feedback, beside them)", batch, r.batch_course, "--workers", "2"),
    )
    with (course / "grades.csv").open(encoding="utf-8") as f:
        r.export = {row["student_id"]: row for row in csv.DictReader(f) if row["assignment"] == A}
    r.nbgrader_scores = scores(course / "gradebook.db")
    r.batch_scores = scores(r.batch_course / "gradebook.db")
    print("\nseconds per step:", json.dumps(r.seconds, ensure_ascii=False, indent=1))
    return r


# -- the tests ------------------------------------------------------------------------------------


def test_zip_collect_put_every_student_in_place_with_the_newest_attempt(run):
    for student in STUDENTS:
        folder = submission_dir(run.course, student)
        assert sorted(p.name for p in folder.iterdir()) == sorted([NB, "timestamp.txt"]), student
        assert (folder / "timestamp.txt").read_text().startswith("2024-06-03 09:15:00"), student
    # "correct" uploaded the untouched release first: the later attempt is the one graded
    assert (submission_dir(run.course, "correct") / NB).read_bytes() != RELEASE.read_bytes()
    assert run.export["correct"]["timestamp"].startswith("2024-06-03 09:15:00")


def test_every_student_is_exported_with_the_judges_score(run):
    assert set(run.export) == set(STUDENTS)
    for student, row in run.export.items():
        judge = run.judge[student]["score"]
        assert float(row["raw_score"]) == pytest.approx(judge, abs=1e-6), student
        assert float(row["score"]) == pytest.approx(judge, abs=1e-6), student
        assert float(row["max_score"]) == RUBRIC.max_score


def test_every_grade_cell_holds_the_judges_part_score(run):
    for student, results in run.judge.items():
        by_part = part_scores(results)
        got = run.nbgrader_scores[student]
        want = {
            p.test_cell: pytest.approx(min(by_part.get(name, 0.0), p.points), abs=1e-6)
            for name, p in RUBRIC.parts.items()
        }
        assert {k: v for k, v in got.items() if k != "_total"} == want, student


def test_solution_earns_full_marks_and_the_release_nothing(run):
    assert float(run.export["correct"]["score"]) == RUBRIC.max_score
    assert float(run.export["unimplemented"]["score"]) == 0.0


@pytest.mark.parametrize("tamperer", list(UNTAMPERED))
def test_tampering_earns_exactly_what_the_backward_passes_earn(run, tamperer):
    plain = UNTAMPERED[tamperer]
    assert run.nbgrader_scores[tamperer] == run.nbgrader_scores[plain]
    assert run.export[tamperer]["score"] == run.export[plain]["score"]
    assert run.nbgrader_scores[plain]["_total"] < run.nbgrader_scores["correct"]["_total"], (
        f"the bug of {plain} must cost points, or this comparison proves nothing"
    )


@pytest.mark.parametrize("student", list(ONE_PART_BUGS))
def test_a_bug_crash_or_hang_costs_only_its_own_backward_part(run, student):
    part = RUBRIC.parts[ONE_PART_BUGS[student]]
    got, full = run.nbgrader_scores[student], run.nbgrader_scores["correct"]
    assert got[part.test_cell] < part.points
    assert {p.test_cell: got[p.test_cell] for p in BACKWARD if p is not part} == {
        p.test_cell: full[p.test_cell] for p in BACKWARD if p is not part
    }


@pytest.mark.parametrize(
    "student, cell, words",
    [
        ("crash-exit", "test_linear", "プロセスが終了しました"),
        ("hang-loop", "test_sigmoid", "秒以内に終わりませんでした"),
    ],
)
def test_crash_and_hang_are_explained_in_the_graded_notebook(run, student, cell, words):
    nb = json.loads((run.course / "autograded" / student / A / NB).read_text(encoding="utf-8"))
    cells = [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == cell]
    text = "".join("".join(o.get("text", "")) for c in cells for o in c["outputs"])
    assert words in text, text


def test_the_leak_check_finds_what_it_looks_for(tmp_path):
    # the source notebook and a grader file are full of secrets: the check must see them
    secret = secrets()
    kinds = set(secret.values())
    assert any(k.startswith(("autograder/graders/", "autograder/assignments/")) for k in kinds)
    assert "test_latest_cache" in secret
    empty = tmp_path / "empty.ipynb"
    empty.write_text(json.dumps({"cells": []}))
    page = tmp_path / "page.html"
    page.write_text("<pre>" + html.escape((NB74.graders_dir / "test_linear.py").read_text(encoding="utf-8")) + "</pre>")
    assert any(
        "autograder/assignments/nb74_matrix_backprop/graders/test_linear.py" in x for x in leaks(page, empty, secret)
    )


@pytest.mark.parametrize("route", ["nbgrader", "batch"])
def test_feedback_and_graded_notebooks_show_no_hidden_tests_or_grader_code(run, route):
    course = run.course if route == "nbgrader" else run.batch_course
    secret = secrets()
    found = {}
    for student in STUDENTS:
        submitted = submission_dir(course, student) / NB
        for path in (
            course / "feedback" / student / A / NB.replace(".ipynb", ".html"),
            course / "autograded" / student / A / NB,
        ):
            assert path.is_file(), path
            if hits := leaks(path, submitted, secret):
                found[str(path.relative_to(course))] = hits
    assert not found, json.dumps(found, ensure_ascii=False, indent=1)


def test_feedback_shows_the_judges_verdict(run):
    page = visible_text(run.course / "feedback" / "dw-transposed" / A / NB.replace(".ipynb", ".html"))
    assert "採点（ジャッジ）" in page
    results = run.judge["dw-transposed"]
    reasons = [norm(t["output"]) for t in results["tests"] if t["status"] != "passed" and t["part"] == "linear"]
    assert reasons and any(r.split("\n")[0][:40] in page for r in reasons)


def test_batch_gradebook_equals_nbgrader_gradebook(run):
    assert run.batch_scores == run.nbgrader_scores


def test_batch_wrote_graded_notebooks_and_feedback_for_everyone(run):
    for student in STUDENTS:
        assert (run.batch_course / "autograded" / student / A / NB).is_file(), student
        assert (run.batch_course / "feedback" / student / A / NB.replace(".ipynb", ".html")).is_file(), student
