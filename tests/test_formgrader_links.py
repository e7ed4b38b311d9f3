"""No link in a student's markdown leads the instructor's browser to a page the student wrote
(issue 22, finding 5), checked in a real headless Chromium on the real formgrader.

The student hands in, beside a correct notebook, notes.html / notes.svg / notes.xml whose scripts
would mark the page's title and read source/ through the contents API, and writes markdown cells
with every kind of link a cell can make (inline, reference-style, autolinks, raw <a>, <area>,
<form>, <img>; relative, `http:x/..%2F...`, `//host`, backslashes, loopback addresses,
javascript:, data:, mailto:...), among them the exact attack of finding 5. The submission is put
in submitted/ as `nbgrader zip_collect` or an instructor would (collect leaves such files out),
then graded by the real `nbgrader autograde`, `nbgrader generate_feedback` and, in a copy of the
course, `python -m autograder batch` (with its feedback).

In the formgrader's submission page, and in both feedback pages (opened from the disk, as the
instructor and, once released, the student open them), every <a> of the student's cells is clicked, and every raw href of the
student's cells is also opened directly: the marker never appears, and no navigation lands on a
document holding the student's file served as a page (text/html, SVG, XML). Screenshots go under
the test's tmp folder (and $NB74_BROWSER_SHOT_DIR when set).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browser import LOAD_TIMEOUT, chromium, screenshot  # noqa: F401
from test_formgrader_browser import browser, save_shot, server, wait_for  # noqa: F401

from tests.course import NB, A, add_students, batch, copy_course, make_course, nbgrader, place, submission_dir
from tests.course import db_url as course_db_url
from tests.submissions import SOLUTION

pytestmark = pytest.mark.slow

STUDENT = "linker"
PAGE = f"{Path(NB).stem}.html"  # the feedback page
SCRIPT_RAN = "student-script-ran"
FILE_MARK = "nb74-students-own-file"  # in every file the student hands in beside the notebook
# marks the title where it runs: with the origin it ran in ("null" in a sandboxed document,
# as jupyter_server's /files/ serves pages), and what it read from source/ if it could
STEAL = (
    f"document.title = '{SCRIPT_RAN} ' + self.origin;"
    f"fetch('/api/contents/source/{A}').then(r => r.text())"
    f".then(t => {{ document.title = '{SCRIPT_RAN} ' + self.origin + ' read ' + t.length }})"
)
OWN_FILES = {
    "notes.html": f"<!-- {FILE_MARK} --><html><body><script>{STEAL}</script>notes</body></html>",
    "notes.svg": f'<svg xmlns="http://www.w3.org/2000/svg"><!-- {FILE_MARK} --><script>{STEAL}</script></svg>',
    "notes.xml": (
        f'<?xml version="1.0"?><!-- {FILE_MARK} --><html xmlns="http://www.w3.org/1999/xhtml">'
        f"<body><script>{STEAL.replace('=>', '=&gt;')}</script></body></html>"
    ),
}
UP = "..%2F..%2F..%2F..%2F"  # from autograded/<student>/<assignment>/x/ to the course root
ATTACK = f"http:x/{UP}submitted%2F{STUDENT}%2F{A}%2Fnotes.html"  # finding 5, exactly
# (href, whether it may stay a link)
HREFS = [
    ("https://example.org/", True),
    ("http://ja.wikipedia.org/wiki/Backpropagation", True),
    ("#student-anchor", True),
    (ATTACK, False),
    (f"http:x/{UP}submitted%2F{STUDENT}%2F{A}%2Fnotes.svg", False),
    (f"https:x/{UP}submitted%2F{STUDENT}%2F{A}%2Fnotes.xml", False),
    (f"x/{UP}submitted%2F{STUDENT}%2F{A}%2Fnotes.html", False),
    (f"..%2F..%2F..%2Fsubmitted%2F{STUDENT}%2F{A}%2Fnotes.html", False),
    ("notes.html", False),
    ("./notes.svg", False),
    (f"/formgrader/submissions/1/x/{UP}submitted%2F{STUDENT}%2F{A}%2Fnotes.html", False),
    (f"//127.0.0.1/{A}/notes.html", False),
    ("http:\\\\127.0.0.1\\notes.html", False),
    ("http:/\\127.0.0.1/notes.html", False),
    ("http://localhost/formgrader", False),
    ("http://127.1/", False),
    ("http://2130706433/", False),
    ("http%3Ax/..%2Fnotes.html", False),
    ("http&#58;x/notes.html", False),
    ("javascript:document.title='student-script-ran'", False),
    ("JaVaScRiPt&colon;document.title='student-script-ran'", False),
    ("data:text/html,<script>document.title='student-script-ran'</script>", False),
    ("mailto:teacher@example.org", False),
]


def link_cells() -> list[str]:
    """Markdown cells holding every kind of link, each href in each form a cell can write it."""
    inline = [f"- [inline {i}]({h})" for i, (h, _) in enumerate(HREFS) if " " not in h and ")" not in h]
    refs = [f"- [reference {i}][r{i}]" for i in range(len(HREFS))]
    defs = [f"[r{i}]: <{h}>" for i, (h, _) in enumerate(HREFS)]
    raw = [f'<a href="{h.replace(chr(34), "&quot;")}">raw {i}</a>' for i, (h, _) in enumerate(HREFS)]
    auto = [f"<{h}>" for h, _ in HREFS if h.startswith(("http", "javascript", "data", "mailto")) and " " not in h]
    other = [
        f'<map name="m"><area shape="rect" coords="0,0,50,50" href="{ATTACK}" alt="area"></map>',
        f'<form action="{ATTACK}"><button>form</button></form>',
        '<img src="notes.svg" alt="img"> <img src="http:x/notes.svg" alt="img2">',
        f'<svg><a href="{ATTACK}"><text y="20">svg link</text></a></svg>',
        f'<math><mi href="{ATTACK}">math link</mi></math>',
    ]
    return [
        "## 学生のリンク: インライン\n\n" + "\n".join(inline),
        "## 学生のリンク: 参照\n\n" + "\n".join(refs) + "\n\n" + "\n".join(defs),
        "## 学生のリンク: HTML\n\n" + " ".join(raw),
        "## 学生のリンク: 自動リンク\n\n" + "\n".join(f"- {a}" for a in auto) + "\n\nhttp://127.0.0.1/notes.html",
        "## 学生のリンク: その他\n\n" + "\n".join(other),
    ]


def link_notebook(path: Path) -> Path:
    nb = json.loads(SOLUTION.read_text(encoding="utf-8"))
    nb["cells"][1:1] = [{"cell_type": "markdown", "metadata": {}, "source": text} for text in link_cells()]
    path.write_text(json.dumps(nb, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The formgrader's course (the name the server fixture asks for): autograded by nbgrader,
    its feedback generated by nbgrader, and a copy graded by the batch under batch/ (inside the
    Jupyter server's root, so that its feedback is opened from the same origin)."""
    from test_formgrader_browser import course_config

    course = make_course(tmp_path_factory.mktemp("formgrader-links") / "course")
    add_students(course, [STUDENT])
    place(course, STUDENT, link_notebook(course / "in.ipynb"))
    for name, text in OWN_FILES.items():  # as zip_collect or an instructor would leave them
        (submission_dir(course, STUDENT) / name).write_text(text, encoding="utf-8")
    nbgrader(course, "autograde", A)
    # an autograded folder made otherwise (an older kit, by hand) with the student's pages in it
    for name, text in OWN_FILES.items():
        (course / "autograded" / STUDENT / A / f"old-{name}").write_text(text, encoding="utf-8")
    nbgrader(course, "generate_feedback", A)
    batched = copy_course(course, course / "batch")
    add_students(batched, [STUDENT], db_url=course_db_url(batched))
    batch(batched)
    (course / "nbgrader_config.py").write_text(course_config(course), encoding="utf-8")
    return course


def student_links(driver) -> list[dict[str, str]]:
    """Every <a> (and <area>) in the cells that show the student's links: its index, href (the
    attribute as written, or None) and text."""
    return list(
        driver.execute_script(
            "const cells = Array.from(document.querySelectorAll('.cell, .jp-Cell, .text_cell_render'))"
            "  .filter(c => c.textContent.includes('学生のリンク'));"
            "const links = new Set(); cells.forEach(c => c.querySelectorAll('a, area').forEach(a => links.add(a)));"
            "return Array.from(links).map((a, i) => ({i: i, href: a.getAttribute('href'), text: a.textContent}));"
        )
    )


def assert_not_the_students_page(driver, origin: str, where: str) -> None:
    """Neither the marker of a script that ran, nor the student's own file shown as a document."""
    title = driver.title
    assert not title.startswith(SCRIPT_RAN), (where, driver.current_url, title)
    if driver.current_url.startswith(origin):
        kind = driver.execute_script("return document.contentType")
        source = driver.page_source
        assert not (FILE_MARK in source and kind in ("text/html", "image/svg+xml", "application/xml", "text/xml")), (
            where,
            driver.current_url,
            kind,
        )


def click_every_link(driver, page: str, origin: str, ready: str) -> list[dict[str, str]]:
    """Open the page, click each student link in turn (the page opened afresh before each), and
    check where it lands; then open each raw href resolved against the page. Returns the links."""
    from selenium.common.exceptions import WebDriverException

    def load() -> None:
        driver.get(page)
        wait_for(driver, ready)

    load()
    links = student_links(driver)
    assert len(links) >= len(HREFS), links  # the cells were rendered, their links found
    for link in links:
        if driver.current_url.split("#")[0] != page:  # the last click went somewhere: back to the page
            load()
        element = driver.execute_script(
            "const cells = Array.from(document.querySelectorAll('.cell, .jp-Cell, .text_cell_render'))"
            "  .filter(c => c.textContent.includes('学生のリンク'));"
            "const links = new Set(); cells.forEach(c => c.querySelectorAll('a, area').forEach(a => links.add(a)));"
            "const a = Array.from(links)[arguments[0]]; a.scrollIntoView({block: 'center'}); return a;",
            link["i"],
        )
        try:
            element.click()
        except WebDriverException:  # hidden or covered (an <area>, the navigation bar): click it as a script would
            driver.execute_script("arguments[0].click()", element)
        try:
            wait_for(driver, "return document.readyState === 'complete'", timeout=LOAD_TIMEOUT)
        except WebDriverException:
            pass
        assert_not_the_students_page(driver, origin, f"click {link}")
    load()
    for href, _ in HREFS:
        url = driver.execute_script(
            "try { return new URL(arguments[0], location.href).href } catch (e) { return null }", href
        )
        if url is None or not url.startswith(("http:", "https:")):
            continue  # javascript:, data:, mailto: are not a place on the server
        try:
            driver.get(url)
        except WebDriverException:  # a name no resolver answers here (example.org): nothing loaded
            pass
        assert_not_the_students_page(driver, origin, f"raw {href} -> {url}")
    return links


def kept_links(links: list[dict[str, str]]) -> set[str]:
    return {str(link["href"]) for link in links if link["href"] is not None}


def test_every_student_link_in_the_formgrader_stays_off_the_students_pages(browser, server, tmp_path):  # noqa: F811
    from nbgrader.api import Gradebook

    with Gradebook(course_db_url(server.course)) as gb:
        sub = gb.find_submission_notebook(Path(NB).stem, A, STUDENT)
        assert sub.score == sub.max_score == 100  # the links cost the student nothing
        sid = sub.id
    page = f"{server.url}/formgrader/submissions/{sid}/"
    ready = "const e = document.getElementById('test_linear'); return e && e.placeholder !== ''"
    links = click_every_link(browser, page, server.url, ready)
    allowed = {h for h, ok in HREFS if ok}
    assert kept_links(links) <= allowed and "https://example.org/" in kept_links(links), kept_links(links)
    browser.get(page)
    wait_for(browser, ready)
    shot = screenshot(browser, tmp_path / "formgrader_links.png")
    save_shot(shot)
    # the attack's target is there to be reached, and the formgrader does not reach it
    assert (submission_dir(server.course, STUDENT) / "notes.html").is_file()
    assert not list((server.course / "autograded" / STUDENT / A).glob("notes.*"))


@pytest.mark.parametrize("route", ["nbgrader", "batch"])
def test_every_student_link_in_the_feedback_stays_off_the_students_pages(browser, server, route, tmp_path):  # noqa: F811
    base = server.course if route == "nbgrader" else server.course / "batch"
    folder = base / "feedback" / STUDENT / A
    assert sorted(p.name for p in folder.iterdir() if p.suffix in (".html", ".svg", ".xml")) == [PAGE]
    page = (folder / PAGE).resolve().as_uri()  # as the instructor or the student opens it
    links = click_every_link(browser, page, server.url, "return document.readyState === 'complete'")
    allowed = {h for h, ok in HREFS if ok}
    assert kept_links(links) <= allowed and "https://example.org/" in kept_links(links), kept_links(links)
    browser.get(page)
    shot = screenshot(browser, tmp_path / f"feedback_links_{route}.png")
    save_shot(shot)
