"""nbgrader's formgrader over a course autograded by the kit, in a real headless Chromium (issue 13).

A temporary course with two students (the solution, and the solution with a transposed dW) is
autograded by the real `nbgrader autograde` (the judge scores every test cell). A real
`jupyter server` with only the formgrader extension serves it, with this repository's
nbgrader_config.py; Chromium logs in with the token through the login form, then reads the pages
the Backbone views render after load:

- the gradebook of the notebook and the manage-submissions page show each student's score, equal
  to the gradebook's (nbgrader.api.Gradebook);
- the transposed-dW submission's page shows the judge's diagnosis and score for the Linear test
  cell, and no hidden test (tests/leaks.py derives the hidden-test lines from source/).

Screenshots go under the test's tmp folder, and are copied to $NB74_BROWSER_SHOT_DIR when set.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import formgrader
from tests.browser import screenshot
from tests.bugs.catalog import BUGS
from tests.course import add_students, db_url, make_course, nbgrader, place, submission_dir
from tests.formgrader import course_config, save_shot, wait_for
from tests.leaks import REGION, collect_secrets, norm
from tests.nb74 import NB74
from tests.submissions import make_submission

A, NB = "nb74_matrix_backprop", "matrix_backprop"
TRANSPOSED = next(e for e in BUGS if e.name == "linear_dW_transposed")
DIAGNOSIS = "dW の形状が (2, 3) で、正しくは (3, 2) です（値も転置と一致します）"  # on the visible inputs' shapes
STUDENTS = {"correct": {}, "dw_transposed": {TRANSPOSED.cell: TRANSPOSED.source}, "extra_files": {}}
SCRIPT_RAN = "student-script-ran"
# Files a student hands in beside the notebook: the formgrader serves autograded/ from its origin
EXTRA_FILES = {
    "notes.html": f"<script>document.title = '{SCRIPT_RAN}'</script>",
    "notes.svg": f'<svg xmlns="http://www.w3.org/2000/svg"><script>document.title = "{SCRIPT_RAN}"</script></svg>',
    "notes.txt": "notes of the student (served as text/plain, without a charset: ASCII here)",
}
# Through nbgrader's exchange the student id is the inbound folder's name, chosen by the submitter
COURSE_ID = "dl-nb74"  # nbgrader_config.py's CourseDirectory.course_id
BAD_ID = f"<img src=x onerror=document.title='{SCRIPT_RAN}'>"
VIA_EXCHANGE = "via_exchange"


# the formgrader serving this module's course, and Chromium logged in to it (tests/formgrader.py)
server, browser = formgrader.server_fixture, formgrader.browser_fixture


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    course = make_course(tmp_path_factory.mktemp("formgrader") / "course")
    add_students(course, [*STUDENTS, VIA_EXCHANGE])
    for student, replace in STUDENTS.items():
        place(course, student, make_submission(course / f"{student}.ipynb", replace))
    for name, text in EXTRA_FILES.items():
        (submission_dir(course, "extra_files") / name).write_text(text, encoding="utf-8")
    exchange = course.parent / "exchange"
    for student in (VIA_EXCHANGE, BAD_ID):  # as `nbgrader submit` leaves them
        inbound = exchange / COURSE_ID / "inbound" / f"{student}+{A}+2024-06-01 10:00:00.000000 UTC"
        make_submission(inbound / f"{NB}.ipynb")
        (inbound / "timestamp.txt").write_text("2024-06-01 10:00:00.000000 UTC", encoding="utf-8")
    done = nbgrader(course, "collect", A, f"--Exchange.root={exchange}")
    (course.parent / "collect.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    nbgrader(course, "autograde", A)
    (course / "nbgrader_config.py").write_text(course_config(course), encoding="utf-8")
    return course


def gradebook_rows(course: Path) -> dict[str, dict[str, object]]:
    """{student: id, score, max_score, the Linear test cell's auto score} from nbgrader's gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url(course)) as gb:
        return {
            nb.student.id: {
                "id": nb.id,
                "score": float(nb.score),
                "max_score": float(nb.max_score),
                "linear": float(next(g.auto_score for g in nb.grades if g.name == "test_linear")),
            }
            for nb in gb.notebook_submissions(NB, A)
        }


def js_number(x: float) -> str:
    """How the formgrader's views write a score: roundToPrecision(x, 2), then JavaScript's String."""
    r = round(x, 2)
    return str(int(r)) if r == int(r) else repr(r)


def clip_screenshot(driver, element_ids: list[str], path: Path) -> Path:
    """A PNG of the page from the cell holding the first element (by id) to the cell of the
    last one (the student's answer, then its test cell), at the page's own layout: Chrome renders
    beyond the viewport, so the fixed navigation bar stays at the top of the page, off the cells."""
    import base64

    driver.execute_script("window.scrollTo(0, 0)")
    x, y, w, h = driver.execute_script(
        "const cells = arguments[0].map(g => document.getElementById(g).closest('.cell').getBoundingClientRect());"
        "const top = cells[0].top + scrollY, bottom = cells[cells.length - 1].bottom + scrollY;"
        "return [cells[0].left, top, cells[0].width, bottom - top];",
        element_ids,
    )
    png = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {"format": "png", "captureBeyondViewport": True, "clip": {"x": x, "y": y, "width": w, "height": h, "scale": 1}},
    )
    path.write_bytes(base64.b64decode(png["data"]))
    return path


def test_the_judge_graded_the_students_apart(server):
    rows = gradebook_rows(server.course)
    assert sorted(rows) == sorted([*STUDENTS, VIA_EXCHANGE]), rows
    for student in ("correct", "extra_files", VIA_EXCHANGE):
        assert rows[student]["score"] == rows[student]["max_score"] == 100, rows
    assert rows["dw_transposed"]["score"] < rows["dw_transposed"]["max_score"], rows
    assert rows["dw_transposed"]["linear"] == 0, rows


def test_the_gradebook_page_shows_each_students_judge_score(browser, server, tmp_path):
    rows = gradebook_rows(server.course)
    browser.set_window_size(1280, 900)
    browser.get(f"{server.url}/formgrader/gradebook/{A}/{NB}")
    wait_for(browser, "return window.models && models.loaded && $('#main-table tr .score').length >= 2")
    browser.find_element("id", "toggle_names").click()  # the screenshot names the students
    shown = browser.execute_script(
        "return $('#main-table tr').toArray().map(r => [$(r).find('a.name-shown').attr('href'),"
        " $(r).find('a.name-shown').text(), $(r).find('.score').text()])"
    )
    by_id = {href.rsplit("/", 1)[1]: (name, score) for href, name, score in shown}
    for student, row in rows.items():
        name, score = by_id[str(row["id"])]
        assert name == f"{student}, Test", shown
        assert score == f"{js_number(row['score'])} / {js_number(row['max_score'])}", (student, shown)
    text = browser.execute_script("return document.body.innerText")
    assert "100 / 100" in text and f"{js_number(rows['dw_transposed']['score'])} / 100" in text, text
    shot = screenshot(browser, tmp_path / "formgrader_gradebook.png")
    save_shot(shot)
    assert shot.stat().st_size > 10_000


def test_the_manage_submissions_page_shows_each_students_judge_score(browser, server):
    rows = gradebook_rows(server.course)
    browser.get(f"{server.url}/formgrader/manage_submissions/{A}")
    wait_for(browser, "return $('#main-table tr .score').filter((i, e) => $(e).text().includes('/')).length >= 2")
    shown = browser.execute_script(
        "return $('#main-table tr').toArray().map(r => [$(r).find('.student-id').text(),"
        " $(r).find('.status').text().trim(), $(r).find('.score').text()])"
    )
    by_student = {sid: (status, score) for sid, status, score in shown}
    for student, row in rows.items():
        status, score = by_student[student]
        assert status == "graded", shown  # autograded, nothing left for a human
        assert score == f"{js_number(row['score'])} / {js_number(row['max_score'])}", (student, shown)


def hidden_test_text() -> list[str]:
    """Every line of the hidden tests (the graders, autograder/graders/) that students never see, normalized."""
    found = [
        f
        for f, (_, origin) in collect_secrets().fragments.items()
        if origin.startswith(("autograder/graders/", "autograder/assignments/"))
    ]
    assert found, "the graders have no secret lines: this check would pass vacuously"
    return found


def hidden_tests_in(driver) -> list[str]:
    """The hidden-test markers and lines found in the document's text, displayed or not."""
    everything = driver.execute_script("return document.body.innerText + '\\n' + document.documentElement.textContent")
    text = "\n".join(norm(line) for line in everything.split("\n"))
    markers = [m.group(0) for m in REGION.finditer(text) if "HIDDEN" in m.group(0)]
    return markers + [f for f in hidden_test_text() if f in text]


def test_the_submission_page_shows_the_judges_message_and_no_hidden_test(browser, server, tmp_path):
    row = gradebook_rows(server.course)["dw_transposed"]
    browser.set_window_size(1280, 1000)
    browser.get(f"{server.url}/formgrader/submissions/{row['id']}/")
    # formgrade.js fills each score box's placeholder with the gradebook's auto score once fetched
    wait_for(browser, "const e = document.getElementById('test_linear'); return e && e.placeholder !== ''")
    linear = browser.execute_script(
        "const cell = document.getElementById('test_linear').closest('.cell');"
        "return [cell.innerText, document.getElementById('test_linear').placeholder,"
        " cell.querySelector('.nbgrader_cell .panel-heading').innerText]"
    )
    cell_text, placeholder, heading = linear
    assert float(placeholder) == row["linear"] == 0, linear
    assert "/ 20.0" in heading, heading  # the cell's points, from the gradebook
    assert DIAGNOSIS in cell_text, cell_text  # the judge's message, as the autograded notebook has it
    assert "採点（ジャッジ）: 0 / 20 点" in cell_text, cell_text
    assert "nb74.check_linear(Linear)" in cell_text  # the visible test stays

    # nothing of a hidden test anywhere in the document: rendered text, and what is not displayed
    assert not hidden_tests_in(browser)
    assert "HIDDEN" not in browser.page_source
    # the check can fail: Linear's hidden tests (its grader), put into the page, are found
    browser.execute_script(
        "const pre = document.createElement('pre'); pre.textContent = arguments[0]; document.body.append(pre)",
        (NB74.graders_dir / "test_linear.py").read_text(encoding="utf-8"),
    )
    assert len(hidden_tests_in(browser)) >= 2, "the hidden tests of test_linear were not found"
    browser.refresh()
    wait_for(browser, "const e = document.getElementById('test_linear'); return e && e.placeholder !== ''")

    shot = clip_screenshot(browser, ["linear-comment", "test_linear"], tmp_path / "formgrader_submission.png")
    save_shot(shot)
    assert shot.stat().st_size > 10_000


def test_a_students_extra_page_never_runs_in_the_formgrader(browser, server):
    row = gradebook_rows(server.course)["extra_files"]
    files = f"{server.url}/formgrader/submissions/{row['id']}"
    browser.get(f"{files}/notes.txt")  # the formgrader does serve a student's extra files...
    assert browser.execute_script("return document.body.innerText") == EXTRA_FILES["notes.txt"]
    for name in ("notes.html", "notes.svg"):  # ...but not these: they would run as the instructor
        browser.get(f"{files}/{name}")
        wait_for(browser, "return document.readyState === 'complete'")
        assert browser.title != SCRIPT_RAN, name
        assert "404" in browser.execute_script("return document.body.innerText"), name
        assert not (server.course / "autograded" / "extra_files" / A / name).exists()
        assert (submission_dir(server.course, "extra_files") / name).exists()  # the student's copy stays


def test_a_student_id_made_of_markup_is_never_collected(browser, server):
    """Without SafeCollect's check, nbgrader collects it and autograde creates the student: the
    submission's page then shows the id unescaped and its script runs as the instructor."""
    rows = gradebook_rows(server.course)
    for student, row in rows.items():  # every submission's page the formgrader has
        browser.get(f"{server.url}/formgrader/submissions/{row['id']}/")
        wait_for(browser, "const e = document.getElementById('test_linear'); return e && e.placeholder !== ''")
        assert browser.title != SCRIPT_RAN, student
    browser.get(f"{server.url}/formgrader/manage_students")
    wait_for(browser, "return window.models && models.loaded")
    assert browser.title != SCRIPT_RAN
    assert BAD_ID not in rows and VIA_EXCHANGE in rows, rows  # the exchange itself works
    log = (server.course.parent / "collect.log").read_text(encoding="utf-8")
    assert "not collected" in log and "is not a student id" in log, log
    assert sorted(p.name for p in (server.course / "submitted").iterdir()) == sorted([*STUDENTS, VIA_EXCHANGE])
