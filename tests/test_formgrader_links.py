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
instructor and, once released, the student open them), every <a> of the student's cells is
clicked, and every raw href of the student's cells, resolved against that page, is also opened
directly. Where each lands, the browser shows neither the student's script at work (the title it
sets, the element it writes) nor the student's file as a document (its own element in a page
whose document or response type is HTML, SVG or XML); on the server's origin, a direct request
with the browser's session gets no such file either. Each safeguard is needed: with the
formgrader guard off (nbgrader_config.py), the attack's URL serves notes.html as text/html and
its script reads source/; with the guard's type check off, autograded/old-notes.html does; with
the old link rule (any `http:` prefix), the attack stays a link. A last test shows the checks
see the student's page where one is shown (from the disk; through jupyter_server's /files/).
Screenshots go under the test's tmp folder (and $NB74_BROWSER_SHOT_DIR when set).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests import formgrader
from tests.browser import LOAD_TIMEOUT, screenshot
from tests.course import (
    NB,
    A,
    add_students,
    batch,
    concurrently,
    copy_course,
    make_course,
    nbgrader,
    place,
    submission_dir,
)
from tests.course import db_url as course_db_url
from tests.formgrader import course_config, save_shot, wait_for
from tests.submissions import SOLUTION

pytestmark = pytest.mark.slow

STUDENT = "linker"
PAGE = f"{Path(NB).stem}.html"  # the feedback page
SCRIPT_RAN = "student-script-ran"
FILE_MARK = "nb74-students-own-file"  # in every file the student hands in beside the notebook
# What the student's script does where it runs: marks the title with the origin it ran in ("null"
# in a sandboxed document, as jupyter_server's /files/ serves pages) and what it read from
# source/ if it could, and writes an element into the document. The files also hold an element
# of their own (FILE_MARK) inside the body: a browser shows it whether or not scripts run.
STEAL = (
    "const p = document.documentElement.appendChild("
    f"document.createElementNS('http://www.w3.org/1999/xhtml', 'p')); p.id = '{SCRIPT_RAN}';"
    f"document.title = '{SCRIPT_RAN} ' + self.origin;"
    f"fetch('/api/contents/source/{A}').then(r => r.text())"
    f".then(t => {{ document.title = '{SCRIPT_RAN} ' + self.origin + ' read ' + t.length }})"
)
OWN_FILES = {
    "notes.html": f'<html><body><p id="{FILE_MARK}">{FILE_MARK}</p><script>{STEAL}</script></body></html>',
    "notes.svg": (
        f'<svg xmlns="http://www.w3.org/2000/svg"><text id="{FILE_MARK}" y="20">{FILE_MARK}</text>'
        f"<script>{STEAL}</script></svg>"
    ),
    "notes.xml": (
        f'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body><p id="{FILE_MARK}">{FILE_MARK}</p>'
        f"<script>{STEAL.replace('=>', '=&gt;')}</script></body></html>"
    ),
}
PLAIN = ("notes.txt", f"{FILE_MARK}: a student's plain notes, which the formgrader may show as text")
ACTIVE_TYPES = ("text/html", "image/svg+xml", "application/xml", "text/xml", "application/xhtml+xml")
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
    # autograded/ holding the student's pages (an older kit, by hand): served from the right
    # folder, but never as a page (the guard's second half)
    ("old-notes.html", False),
    ("x/..%2Fold-notes.svg", False),
    # the student's plain file, which the formgrader does serve (as text): not a link either
    (PLAIN[0], False),
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


# the formgrader serving this module's course, and Chromium logged in to it (tests/formgrader.py)
server, browser = formgrader.server_fixture, formgrader.browser_fixture


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The formgrader's course (the name the server fixture asks for): autograded by nbgrader,
    its feedback generated by nbgrader, and a copy graded by the batch under batch/ (inside the
    Jupyter server's root, so that its feedback is opened from the same origin)."""

    course = make_course(tmp_path_factory.mktemp("formgrader-links") / "course")
    add_students(course, [STUDENT])
    place(course, STUDENT, link_notebook(course / "in.ipynb"))
    for name, text in OWN_FILES.items():  # as zip_collect or an instructor would leave them
        (submission_dir(course, STUDENT) / name).write_text(text, encoding="utf-8")
    (submission_dir(course, STUDENT) / PLAIN[0]).write_text(PLAIN[1], encoding="utf-8")
    batched = copy_course(course, course / "batch")
    add_students(batched, [STUDENT], db_url=course_db_url(batched))

    def nbgrader_route() -> None:
        nbgrader(course, "autograde", A)
        # an autograded folder made otherwise (an older kit, by hand) with the student's pages in it
        for name, text in OWN_FILES.items():
            (course / "autograded" / STUDENT / A / f"old-{name}").write_text(text, encoding="utf-8")
        nbgrader(course, "generate_feedback", A)

    concurrently(nbgrader_route, lambda: batch(batched))
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


def shown(driver) -> dict[str, Any]:
    """What the browser shows now: the title, whether the student's script wrote its element,
    whether the student's own element is in the document, the document's type, and what the
    navigation's response was (status and Content-Type, from its Navigation Timing entry)."""
    return dict(
        driver.execute_script(
            "const nav = performance.getEntriesByType('navigation')[0];"
            "return {url: location.href, title: document.title,"
            f"  ran: document.getElementById('{SCRIPT_RAN}') !== null,"
            f"  own: document.getElementById('{FILE_MARK}') !== null, type: document.contentType,"
            "  status: nav ? nav.responseStatus : null, served: nav ? nav.contentType : null}"
        )
    )


def students_page(view: dict[str, Any]) -> bool:
    """The student's script ran, or the student's own file is shown as a document."""
    ran = str(view["title"]).startswith(SCRIPT_RAN) or view["ran"]
    return bool(ran or (view["own"] and (view["type"] in ACTIVE_TYPES or view["served"] in ACTIVE_TYPES)))


def assert_not_the_students_page(driver, where: str) -> None:
    view = shown(driver)
    assert not students_page(view), f"{where}: {view}"


def fetch(origin: str, url: str, cookies: list[dict[str, Any]]) -> tuple[int, str, bytes]:
    """GET url on the Jupyter server with the browser's session cookies, as a click would,
    without following a redirect (the login page must not stand in for a refusal), through no
    proxy: (status, Content-Type, the body's first MiB)."""
    import urllib.error
    import urllib.request

    assert url.startswith(origin + "/"), url  # loopback only

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect)
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in cookies)
    # a click on the formgrader's page sends it as the Referer (jupyter_server's /files/ wants it)
    headers = {"Cookie": cookie, "Referer": f"{origin}/formgrader/"}
    try:
        with opener.open(urllib.request.Request(url, headers=headers), timeout=LOAD_TIMEOUT) as r:
            return int(r.status), str(r.headers.get("Content-Type", "")), r.read(1 << 20)
    except urllib.error.HTTPError as e:
        return int(e.code), str(e.headers.get("Content-Type", "")), e.read(1 << 20)


def served_as_page(kind: str, body: bytes) -> bool:
    return FILE_MARK.encode() in body and kind.split(";")[0].strip() in ACTIVE_TYPES


def click_every_link(driver, page: str, origin: str, ready: str) -> tuple[list[dict[str, str]], dict[str, str | None]]:
    """Open the page, click each student link in turn (the page opened afresh before each), and
    check where it lands; then open each raw href resolved against the page, in the browser and,
    on the server's origin, by a direct request with the browser's session. Returns the links
    and {href: the URL it resolves to from the page}."""
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
        assert_not_the_students_page(driver, f"click {link}")
    # every href resolved against the page itself, all at once: resolved one by one after each
    # visit, they would resolve against wherever the last one landed (an error page, example.org)
    load()
    resolved = driver.execute_script(
        "return arguments[0].map(h => { try { return new URL(h, location.href).href } catch (e) { return null } })",
        [h for h, _ in HREFS],
    )
    targets = {h: (None if u is None else str(u)) for (h, _), u in zip(HREFS, resolved, strict=True)}
    cookies = driver.get_cookies()
    for href, url in targets.items():
        if url is None or not url.startswith(("http:", "https:", "file:")):
            continue  # javascript:, data:, mailto: are not a place to go
        try:
            driver.get(url)
        except WebDriverException:  # a name no resolver answers here (example.org): nothing loaded
            pass
        assert_not_the_students_page(driver, f"raw {href} -> {url}")
        if url.startswith(origin + "/"):  # what the server answers, whatever the browser made of it
            status, kind, body = fetch(origin, url, cookies)
            assert not served_as_page(kind, body), (href, url, status, kind)
    return links, targets


def kept_links(links: list[dict[str, str]]) -> set[str]:
    return {str(link["href"]) for link in links if link["href"] is not None}


def test_every_student_link_in_the_formgrader_stays_off_the_students_pages(browser, server, tmp_path):
    from nbgrader.api import Gradebook

    with Gradebook(course_db_url(server.course)) as gb:
        sub = gb.find_submission_notebook(Path(NB).stem, A, STUDENT)
        assert sub.score == sub.max_score == 100  # the links cost the student nothing
        sid = sub.id
    page = f"{server.url}/formgrader/submissions/{sid}/"
    ready = "const e = document.getElementById('test_linear'); return e && e.placeholder !== ''"
    links, targets = click_every_link(browser, page, server.url, ready)
    # the attack resolves, from the page the instructor views, to the student's notes.html in
    # submitted/ on the server's origin (and is refused there); the student's plain file is
    # served there, with this session: a refusal is the formgrader's, not a wrong URL or login
    allowed = {h for h, ok in HREFS if ok}
    assert kept_links(links) <= allowed and "https://example.org/" in kept_links(links), kept_links(links)
    browser.get(page)
    wait_for(browser, ready)
    cookies = browser.get_cookies()  # the session's, read on the server's origin
    assert targets[ATTACK] == f"{page}x/{UP}submitted%2F{STUDENT}%2F{A}%2Fnotes.html", targets[ATTACK]
    assert fetch(server.url, str(targets[ATTACK]), cookies)[0] == 404
    status, kind, body = fetch(server.url, str(targets[PLAIN[0]]), cookies)
    assert (status, kind.split(";")[0], body.decode()) == (200, "text/plain", PLAIN[1])
    shot = screenshot(browser, tmp_path / "formgrader_links.png")
    save_shot(shot)
    # the attack's target is there to be reached, and the formgrader does not reach it
    assert (submission_dir(server.course, STUDENT) / "notes.html").is_file()
    assert not [p for p in (server.course / "autograded" / STUDENT / A).glob("notes.*") if p.suffix != ".txt"]


@pytest.mark.parametrize("route", ["nbgrader", "batch"])
def test_every_student_link_in_the_feedback_stays_off_the_students_pages(browser, server, route, tmp_path):
    base = server.course if route == "nbgrader" else server.course / "batch"
    folder = base / "feedback" / STUDENT / A
    assert sorted(p.name for p in folder.iterdir() if p.suffix in (".html", ".svg", ".xml")) == [PAGE]
    page = (folder / PAGE).resolve().as_uri()  # as the instructor or the student opens it
    links, _ = click_every_link(browser, page, server.url, "return document.readyState === 'complete'")
    allowed = {h for h, ok in HREFS if ok}
    assert kept_links(links) <= allowed and "https://example.org/" in kept_links(links), kept_links(links)
    browser.get(page)
    shot = screenshot(browser, tmp_path / f"feedback_links_{route}.png")
    save_shot(shot)


def test_the_checks_see_a_students_page_where_one_is_shown(browser, server):
    """The checks above can fail: where the student's files are shown as pages, they say so.

    From the disk, each file runs its script (origin "null") and shows its element. jupyter_server's
    own /files/ does serve submitted/notes.html as text/html on the server's origin (the link rule
    keeps students' links off it), in a CSP sandbox: the script runs in an opaque origin and reads
    nothing from the contents API, and the browser check and the direct request both see the page."""
    for name in OWN_FILES:
        browser.get((submission_dir(server.course, STUDENT) / name).resolve().as_uri())
        view = shown(browser)
        assert students_page(view) and view["ran"] and view["own"] and view["type"] in ACTIVE_TYPES, (name, view)
    browser.get(f"{server.url}/formgrader/gradebook")
    url = f"{server.url}/files/submitted/{STUDENT}/{A}/notes.html"
    status, kind, body = fetch(server.url, url, browser.get_cookies())
    assert status == 200 and served_as_page(kind, body), (status, kind)
    browser.execute_script("location.href = arguments[0]", url)  # as a click: with the Referer
    wait_for(browser, "return location.pathname.startsWith('/files/') && document.readyState === 'complete'")
    view = shown(browser)
    assert students_page(view) and view["served"] == "text/html" and view["status"] == 200, view
    assert view["title"] == f"{SCRIPT_RAN} null", view  # sandboxed: no origin, nothing read
