"""The class report (`python -m autograder report`, issue 13) on the demo course and on a generated
class of 1,000 with mixed bugs, opened in a real headless Chromium: every image loaded, Japanese
drawn with a Japanese font, and every count on the page equal to a recount made directly from the
per-submission results in the gradebook (and, for the generated class, from what was generated).
"""

from __future__ import annotations

import csv
import os
import shutil
import sqlite3
import subprocess
import sys
import warnings
from collections import Counter
from pathlib import Path

import pytest

from autograder.course.assignment import ROOT
from autograder.course.spreadsheet import cell
from autograder.reports.graded import Graded, load_class
from autograder.reports.page import render
from autograder.results import Confinement, Results
from autograder.routes.nbgrader_hooks.gradebook import JudgeGradebook
from tests import background, generated_class
from tests.browser import fonts_for_text, images_loaded, open_file, screenshot
from tests.course import A, db_url
from tests.generated_class import KINDS
from tests.nb74 import NB74

RUBRIC = NB74.rubric
JAPANESE_FONTS = ("IPAPGothic", "IPAexGothic", "IPAGothic", "IPAPMincho", "IPAMincho")


def report(course: Path, out: Path) -> Path:
    """The real command, as the instructor runs it."""
    cmd = [sys.executable, "-m", "autograder", "report", A, "--root", str(course), "--out", str(out), "--no-progress"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out / "index.html")
    return out / "index.html"


@pytest.fixture(scope="module")
def demo_course() -> Path:
    """`make demo`'s flow on a scratch course (release, examples, nbgrader autograde, report)."""
    return background.result("demo_course", generated_class.demo)


@pytest.fixture(scope="module")
def class_of_1000() -> tuple[Path, dict[str, str]]:
    """The generated class of 1,000 (tests/generated_class.py) and its student -> kind."""
    return background.result("class_of_1000", generated_class.build)


@pytest.fixture(scope="module", params=["demo", "1000"])
def course(request: pytest.FixtureRequest) -> Path:
    if request.param == "demo":
        return request.getfixturevalue("demo_course")
    return request.getfixturevalue("class_of_1000")[0]


@pytest.fixture(scope="module")
def page(course: Path) -> Path:
    return report(course, course / "class-report")


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def recount(course: Path) -> dict[str, Counter[str]]:
    """Straight from the journal: students per diagnosis, failures per test, problems per student."""
    with JudgeGradebook(db_url(course)) as book:
        results = book.judge_results(A)
    diagnoses: dict[str, set[str]] = {}
    failures: Counter[str] = Counter()
    for student, r in results.items():
        for d in r.diagnoses:
            diagnoses.setdefault(f"{d.part}/{d.quantity}/{d.code}/{d.factor_name or ''}", set()).add(student)
        if not r.refused:
            failures.update({str(t.name) for t in r.tests if not t.passed})
    return {
        "diagnoses": Counter({k: len(v) for k, v in diagnoses.items()}),
        "failures": failures,
        "refused": Counter(s for s, r in results.items() if r.refused),
    }


def test_make_demo_writes_the_class_report(demo_course: Path) -> None:
    page = demo_course / "reports" / A / "index.html"
    assert page.is_file()
    by_student = {r["学生"]: r for r in rows(page.parent / "diagnoses.csv")}
    assert by_student["linear_dW_T"]["見立て"] == "dW が転置" and by_student["linear_dW_T"]["人数"] == "1"
    assert by_student["mse_2_over_n"]["見立て"] == "dL/dy の倍率違い（D）"
    problems = rows(page.parent / "problems.csv")
    assert [(p["学生"], p["種類"]) for p in problems] == [("not_a_notebook", "採点できず")], problems
    assert "JSON" in problems[0]["理由"]


def test_the_page_opens_with_its_images_and_japanese(chromium, page: Path, tmp_path: Path) -> None:
    open_file(chromium, page)
    images = images_loaded(chromium)
    assert len(images) == 2 and all(width > 0 for _, width in images), images
    assert all(src.startswith("data:image/png") for src, _ in images)  # self-contained
    for text in ("見立て（間違いの種類）ごとの人数", "テストごとの不合格の割合"):
        fonts = fonts_for_text(chromium, text)
        assert any(f in JAPANESE_FONTS for f in fonts), fonts
    shot = screenshot(chromium, tmp_path / "class-report.png")
    if os.environ.get("NB74_BROWSER_SHOT_DIR"):
        shutil.copy(shot, Path(os.environ["NB74_BROWSER_SHOT_DIR"]) / f"class_report_{page.parent.parent.name}.png")


def test_every_count_on_the_page_equals_a_recount(chromium, course: Path, page: Path) -> None:
    open_file(chromium, page)
    want = recount(course)

    def shown(attr: str) -> Counter[str]:
        pairs = chromium.execute_script(
            f"return Array.from(document.querySelectorAll('[{attr}]')).map(e => [e.getAttribute('{attr}'), e.dataset.count])"
        )
        return Counter({key: int(n) for key, n in pairs})

    assert shown("data-nb74-diagnosis") == want["diagnoses"]
    assert +shown("data-nb74-test") == want["failures"]  # tests nobody failed are shown with 0
    facts = {k: chromium.find_element("css selector", f'[data-nb74="{k}"]').text for k in ("submissions", "graded")}
    students = len(load_class(db_url(course), A))
    assert facts == {"submissions": str(students), "graded": str(students - len(want["refused"]))}
    refused = chromium.execute_script(
        "return Array.from(document.querySelectorAll('[data-nb74-problem=\"採点できず\"]')).map(e => +e.dataset.count)"
    )
    assert sum(refused) == len(want["refused"])
    csv_counts = Counter()
    for r in rows(page.parent / "diagnoses.csv"):
        csv_counts[(r["部分"], r["量"], r["コード"])] += int(r["このメッセージの人数"])
    assert sum(csv_counts.values()) == sum(want["diagnoses"].values())


def test_the_generated_class_counts_are_what_was_generated(class_of_1000: tuple[Path, dict[str, str]]) -> None:
    """Independent of the judge: how many students were given each bug."""
    course, students = class_of_1000
    page = report(course, course / "class-report")
    kinds = Counter(students.values())
    with_bug = Counter(b for kind, n in kinds.items() for b in KINDS[kind][0] for _ in range(n))
    groups = {(r["部分"], r["見立て"]): int(r["人数"]) for r in rows(page.parent / "diagnoses.csv")}
    assert groups[("Linear.backward", "dW が転置")] == with_bug["linear_dW_transposed"]
    assert groups[("MSELoss.backward", "dL/dy の倍率違い（D）")] == with_bug["mse_seed_2_over_N"]
    assert groups[("Sigmoid.backward", "dx で dout を掛けていない")] == with_bug["sigmoid_no_dout"]
    problems = rows(page.parent / "problems.csv")
    assert sorted(p["学生"] for p in problems if p["種類"] == "採点できず") == sorted(
        s for s, k in students.items() if k == "not_json"
    )
    scores = rows(page.parent / "scores.csv")
    assert len(scores) == 1000
    correct = {s for s, k in students.items() if k == "correct"}
    assert all(float(r["合計"]) == RUBRIC.max_score for r in scores if r["student"] in correct)


def test_a_progress_bar_while_it_reads_a_large_class(
    class_of_1000: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    course, _ = class_of_1000
    cmd = [sys.executable, "-m", "autograder", "report", A, "--root", str(course), "--out", str(tmp_path)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "判定結果を読み込み中" in done.stderr and "1000/1000" in done.stderr, done.stderr[-500:]


def test_results_out_of_step_with_the_scores_are_reported(demo_course: Path, tmp_path: Path) -> None:
    """A score changed behind the journal's back (not by a manual grade): the report says so."""
    shutil.copytree(demo_course, tmp_path / "c")
    course = tmp_path / "c"
    with sqlite3.connect(course / "gradebook.db") as db:
        db.execute(
            "UPDATE grade SET auto_score = 1.0 WHERE id IN (SELECT grade.id FROM grade"
            " JOIN submitted_notebook n ON grade.notebook_id = n.id"
            " JOIN submitted_assignment a ON n.assignment_id = a.id WHERE a.student_id = 'full' LIMIT 1)"
        )
    page = report(course, tmp_path / "out")
    problems = [(p["学生"], p["種類"]) for p in rows(page.parent / "problems.csv")]
    assert ("full", "記録の問題") in problems


def test_student_text_is_shown_as_text(chromium, tmp_path: Path) -> None:
    """Messages quote what a student controls (file names, exceptions): never markup on the page."""
    evil = '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>'
    results = Results.empty(RUBRIC, evil, Confinement("process"))
    cls = [Graded("s1", {p: 0.0 for p in RUBRIC.parts}, results.with_notes([evil]))]
    page = render(cls, NB74, "sqlite:///x", tmp_path / "r")
    open_file(chromium, page)
    assert chromium.title != "pwned"
    assert len(chromium.find_elements("css selector", "img")) == 2  # the two histograms only
    assert evil in chromium.execute_script("return document.body.innerText")


def test_csv_cells_never_start_a_formula() -> None:
    assert cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and cell("-1+1") == "'-1+1" and cell("@x") == "'@x"
    assert cell("dW が転置") == "dW が転置" and cell(3) == 3


def test_the_histograms_draw_every_glyph(demo_course: Path) -> None:
    from autograder.reports.plots import parts_figure, totals_figure

    cls = load_class(f"sqlite:///{demo_course / 'gradebook.db'}", A)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)"
        for png in (totals_figure(cls, RUBRIC), parts_figure(cls, RUBRIC)):
            assert png.startswith(b"\x89PNG")


def test_a_class_with_no_submission_yet_still_gets_a_page(tmp_path: Path) -> None:
    page = render([], NB74, "sqlite:///x", tmp_path / "r")
    text = page.read_text(encoding="utf-8")
    assert 'data-nb74="submissions">0<' in text and "見立てのついた間違いはありません" in text
    assert [r for r in rows(page.parent / "scores.csv")] == []
