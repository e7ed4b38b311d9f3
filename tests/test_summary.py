"""The Markdown summary: hostile student ids and messages cannot break its tables or add markup
(rendered by mistune with raw HTML let through, so an escape that fails shows), and `batch
--junit --summary` on a real small course (nbgrader generate_assignment, the batch as a CI job runs it)."""

from __future__ import annotations

import signal
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import mistune
import pytest
from junitparser import Error, Failure, JUnitXml

from autograder.course.assignment import ROOT
from autograder.course.plain_text import bounded
from autograder.reports.summary import append_summary, batch_summary, cell, grade_summary
from autograder.results import FAILED, PASSED, Confinement, Diagnosis, Results, TestName, TestResult
from autograder.tools.demo import solution_cells, with_bug
from tests.course import add_students, batch, batch_cmd, env, make_course, place, scores
from tests.nb74 import NB74
from tests.signals import sigint_default
from tests.submissions import SOLUTION, make_submission

RUBRIC = NB74.rubric
PARTS = list(RUBRIC.parts.values())
HOSTILE = [
    "a|b",
    "line1\nline2\r\n| x | y |",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[link](javascript:alert(1))",
    "![img](http://example.invalid/x.png)",
    "`code` **bold** _em_ $x$ &amp; \\| \\",
    "\x00\x1b[31m赤\u2028改行",
]


class Tables(HTMLParser):
    """The rendered tables' rows (cells' text) and every tag that was not part of a table."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.other_tags: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag not in ("table", "thead", "tbody", "h3", "h4", "p", "strong", "ul", "li"):
            self.other_tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def render(markdown: str) -> Tables:
    html = mistune.create_markdown(escape=False, plugins=["table", "strikethrough", "url"])(markdown)
    assert isinstance(html, str)
    parser = Tables()
    parser.feed(html)
    return parser


def results_with(message: str) -> Results:
    part = PARTS[0]
    tests = [TestResult(TestName(part.title, "test_gradients"), part.name, 0.0, 2.0, FAILED, message)]
    tests += [TestResult(TestName(p.title), p.name, p.points, p.points, PASSED, "") for p in PARTS[1:]]
    score = sum(p.points for p in PARTS[1:])
    diag = Diagnosis(part.name, "dW", "unknown", "見立て " + message)
    return Results(
        score, RUBRIC.max_score, tuple(tests), Confinement("process"), problems=(message,), diagnoses=(diag,)
    )


@pytest.mark.parametrize("evil", HOSTILE)
def test_hostile_text_stays_text_in_its_cell(evil: str) -> None:
    text = grade_summary(evil, results_with(evil), NB74.rubric) + batch_summary(
        {evil: results_with(evil), "s2": results_with("ok")}, NB74.rubric
    )
    tables = render(text)
    assert tables.other_tags == []  # no script, img, a, code, em, del... from the student's strings
    assert tables.rows and all(len(row) == 6 for row in tables.rows)  # no column added or lost
    shown = " ".join(bounded(evil).split())  # what the reader sees: the text itself, on one line
    first_part = [r for r in tables.rows if r[0] == PARTS[0].title]
    assert first_part[0] == [PARTS[0].title, f"0 / {PARTS[0].points:g}", "0", "1", shown, "見立て " + shown]
    assert [r for r in tables.rows if r[0] == shown]  # the student id's rows in the batch's tables
    assert "\n" not in cell(evil) and "\r" not in cell(evil)


def test_grade_summary_shows_points_counts_message_and_diagnosis() -> None:
    msg = "dW の値が違います: 最大相対誤差 1.43e+00（許容 1e-05）"
    rows = render(grade_summary("nb.ipynb", results_with(msg), NB74.rubric)).rows
    assert rows[0] == ["項目", "得点", "合格", "不合格", "最初の不合格メッセージ", "見立て"]
    assert rows[1] == [PARTS[0].title, f"0 / {PARTS[0].points:g}", "0", "1", msg, "見立て " + msg]
    assert rows[2] == [PARTS[1].title, f"{PARTS[1].points:g} / {PARTS[1].points:g}", "1", "0", "", ""]
    assert len(rows) == 1 + len(PARTS)


def test_append_keeps_what_was_there(tmp_path: Path) -> None:
    path = tmp_path / "step_summary.md"
    path.write_text("earlier step\n", encoding="utf-8")
    append_summary("one", path)
    append_summary("two", path)
    assert path.read_text(encoding="utf-8") == "earlier step\none\n\ntwo\n\n"


@pytest.mark.slow
def test_batch_junit_and_summary_on_a_small_course(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    students = ["s-full", "s-bug", "s-broken"]
    add_students(course, students)
    sol = solution_cells(NB74.source(), RUBRIC)
    place(course, "s-full", SOLUTION)
    bug = make_submission(tmp_path / "bug.ipynb", {"linear": with_bug(sol["linear"], "x.T @ dout", "dout.T @ x")})
    place(course, "s-bug", bug)
    place(course, "s-broken", b"{ not json")
    junit, summary = tmp_path / "junit.xml", tmp_path / "summary.md"
    done = batch(
        course, "--workers", "2", "--no-feedback", "--junit", str(junit), "--summary", str(summary), check=False
    )
    assert done.returncode == 1, done.stderr  # s-broken could not be graded; the others were
    book = scores(course / "gradebook.db")
    assert book["s-full"]["_total"] == 100 and book["s-bug"]["_total"] == 80 and book["s-broken"]["_total"] == 0

    xml = JUnitXml.fromfile(str(junit))
    suites = {s.name: s for s in xml}
    assert sorted(suites) == sorted(students)
    for student, suite in suites.items():
        props = {p.name: p.value for p in suite.properties()}
        assert float(props["score"]) == book[student]["_total"]
        results = [r for case in suite for r in case.result]
        if student == "s-full":
            assert results == []
        elif student == "s-bug":
            assert len(results) == 9 and all(isinstance(r, Failure) for r in results)
        else:
            assert len(list(suite)) == len(RUBRIC.parts) and all(isinstance(r, Error) for r in results)

    text = summary.read_text(encoding="utf-8")
    rows = render(text).rows
    body = [r for r in rows if r[0] in students]
    assert len(body) == len(students) * len(RUBRIC.parts)  # a row per student per part
    assert [r for r in body if r[0] == "s-bug" and r[1] == f"0 / {PARTS[0].points:g}"]
    assert "3 人を採点" in text and "s-broken" in text.split("####")[0]  # the class line names the problem
    class_rows = [r for r in rows if r[0].startswith("クラス")]
    assert len(class_rows) == len(RUBRIC.parts)
    assert class_rows[0][1] == f"平均 {(20 + 0 + 0) / 3:.2f} / 20"

    # nothing changed: a rerun grades nobody, exits 0, and still reports the whole class
    again = batch(course, "--no-feedback", "--summary", str(summary), check=False)
    assert again.returncode == 0, again.stderr
    rerun = summary.read_text(encoding="utf-8")[len(text) :]
    assert "3 人を採点" in rerun and "うち 3 人は変更なしで前回の結果" in rerun
    assert [r for r in render(rerun).rows if r[0] in students] == body

    # Ctrl-C while a worker grades (a cell that never ends): 130, the reports are not written
    place(course, "s-hang", make_submission(tmp_path / "hang.ipynb", {"linear": "while True:\n    pass\n"}))
    cmd = batch_cmd(course, "--no-feedback")
    proc = subprocess.Popen(
        [*cmd, "--workers", "1", "--junit", str(tmp_path / "j2.xml")],
        cwd=ROOT,
        env=env(),
        preexec_fn=sigint_default,  # Ctrl-C reaches it even when the suite runs in the background
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while not grandchildren(proc.pid) and proc.poll() is None:  # a worker has started a student process
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "中断" in err and not (tmp_path / "j2.xml").exists()


def children(pid: int) -> list[int]:
    try:
        return [int(c) for t in Path(f"/proc/{pid}/task").iterdir() for c in (t / "children").read_text().split()]
    except (FileNotFoundError, ProcessLookupError):
        return []


def grandchildren(pid: int) -> list[int]:
    return [g for c in children(pid) for g in children(c)]
