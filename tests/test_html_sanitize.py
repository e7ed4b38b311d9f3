"""Student-controlled HTML never runs in the feedback nor in what the instructor opens (issue 9, 7).

One submission carries HTML/JavaScript payloads everywhere a student can put them: markdown cells
(inline HTML, `javascript:` links, `<img onerror>`, `<svg onload>`, `<iframe srcdoc>`, `<style>`,
an SVG attachment, a raw HTML block that a second Markdown pass would turn into a link), a raw
cell, outputs pasted into code cells (text/html, an "isolated" iframe, application/javascript,
image/svg+xml, a widget view), cell tags, notebook metadata (widget state), and a backward that
raises an exception whose type name and message are `<script>`/`<img onerror>`. Another student of
the batch submits it under a file name with HTML in it (the batch's 採点メモ quotes it).

Both routes run for real: `nbgrader autograde` + `nbgrader generate_feedback`, and `python -m
autograder batch` (with its feedback). Every page is parsed with BeautifulSoup: the feedback HTML of
both routes, and each autograded notebook rendered as formgrader renders it (nbconvert's
HTMLExporter with formgrader's `formgrade` template and formgrader's default config, so without
`sanitize_html`). Script, style, link, iframe, svg... elements must all be the template's own (they
also appear on the page of a clean submission), no on* attribute, no javascript: or non-raster data:
URL. The assignment's own content still renders: a Japanese heading and a formula of the notebook,
the heading of the cell the student edited, and the exception text, shown as text.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from autograder.course.plain_text import MAX_PART_FEEDBACK
from tests.course import NB, A, add_students, batch, concurrently, copy_course, make_course, nbgrader, place
from tests.submissions import SOLUTION, answer_source

pytestmark = pytest.mark.slow

EXC = (
    "\n        E = type('<script>alert(\"type\")</script>', (Exception,), {})\n"
    "        raise E('<img src=x onerror=alert(\"msg\")> [x](javascript:alert(1))')\n"
)
MARKDOWN_PAYLOAD = """

[クリック](javascript:alert("link")) <a href="JaVaScRiPt&colon;alert(1)">entity</a>

<script>alert("md")</script>
<img src=x onerror=alert("img")> <svg onload=alert("svg")><circle r="5"/></svg>
<img src="x" onerror="alert('quoted')"> <svg><animate onbegin="alert(1)" attributeName="x"/></svg>
<iframe srcdoc="<script>alert('srcdoc')</script>"></iframe>
<style>body { display: none }</style>
<object data="data:text/html,<script>alert(1)</script>"></object>
<form action="javascript:alert(1)"><button formaction="javascript:alert(2)">x</button></form>
<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data</a>
<details open ontoggle=alert("toggle")>d</details>
![attached](attachment:evil.svg)

<iframe>
[second pass](javascript:alert("2nd"))
</iframe>
"""
SVG = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(\'att\')"><script>alert(1)</script></svg>'
PASTED_OUTPUTS = [
    {
        "output_type": "display_data",
        "metadata": {},
        "data": {"text/html": "<script>alert('html')</script><img src=x onerror=alert('out')>", "text/plain": "x"},
    },
    {
        "output_type": "display_data",
        "metadata": {"text/html": {"isolated": True}},
        "data": {"text/html": "<script>alert('isolated')</script>"},
    },
    {"output_type": "display_data", "metadata": {}, "data": {"application/javascript": "alert('js')"}},
    {"output_type": "display_data", "metadata": {}, "data": {"image/svg+xml": SVG}},
    {
        "output_type": "display_data",
        "metadata": {},
        "data": {
            "application/vnd.jupyter.widget-view+json": {
                "model_id": "</script><script>alert(1)</script>",
                "version_major": 2,
                "version_minor": 0,
            }
        },
    },
    {
        "output_type": "execute_result",
        "execution_count": 1,
        "metadata": {},
        "data": {"text/html": "<svg onload=alert('res')></svg>", "text/plain": "100.0"},
    },
]
HOSTILE_NAME = '<img src=x onerror=alert("name")>.ipynb'

KNOWN_HEADING = "2. 行列微分の基礎"  # a cell the student left alone
FORMULA = r"\frac{\partial L}{\partial W} = X^T"  # in that cell
EDITED_HEADING = "4.3 Tanh層"  # the cell the payload was appended to
DANGEROUS = (
    "script",
    "style",
    "link",
    "meta",
    "base",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "svg",
    "math",
    "form",
    "template",
    "noscript",
    "applet",
    "portal",
)


def attack_notebook() -> bytes:
    nb = json.loads(SOLUTION.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        src = "".join(cell["source"])
        if gid == "linear":
            code = answer_source("linear")
            assert code.count("x = self.cache['x']") == 1
            cell["source"] = code.replace("x = self.cache['x']", "x = self.cache['x']" + EXC, 1)
        if cell["cell_type"] == "code":
            cell["outputs"] = [dict(o) for o in PASTED_OUTPUTS]
            cell["metadata"]["tags"] = ['"><script>alert("tag")</script>']
        if src.startswith("### 4.3 Tanh層"):
            cell["source"] = src + MARKDOWN_PAYLOAD
            cell["attachments"] = {"evil.svg": {"image/svg+xml": SVG}}
    nb["cells"].insert(
        1,
        {
            "cell_type": "raw",
            "id": "raw-payload",
            "metadata": {"raw_mimetype": "text/html"},
            "source": "<script>alert('raw')</script><img src=x onerror=alert('raw')>",
        },
    )
    nb["cells"].insert(2, {"cell_type": "markdown", "id": "md-payload", "metadata": {}, "source": MARKDOWN_PAYLOAD})
    nb["metadata"]["widgets"] = {
        "application/vnd.jupyter.widget-state+json": {
            "state": {"</script><script>alert('state')</script>": {}},
            "version_major": 2,
            "version_minor": 0,
        }
    }
    return json.dumps(nb, ensure_ascii=False, indent=1).encode("utf-8")


@pytest.fixture(scope="module")
def courses(tmp_path_factory) -> dict[str, Path]:
    """The nbgrader route and the batch route, each graded and with feedback."""
    nbg = make_course(tmp_path_factory.mktemp("xss") / "course")
    add_students(nbg, ["attacker", "clean"])
    place(nbg, "attacker", attack_notebook())
    place(nbg, "clean", SOLUTION)
    bat = copy_course(nbg, tmp_path_factory.mktemp("xss-batch") / "course")
    place(bat, "hostile-name", attack_notebook(), name=HOSTILE_NAME)
    concurrently(
        lambda: (nbgrader(nbg, "autograde", A), nbgrader(nbg, "generate_feedback", A)),
        lambda: batch(bat, "--workers", "2"),
    )
    return {"nbgrader": nbg, "batch": bat}


def feedback_page(course: Path, student: str) -> str:
    return (course / "feedback" / student / A / NB.replace(".ipynb", ".html")).read_text(encoding="utf-8")


def formgrader_page(course: Path, student: str) -> str:
    """The autograded notebook as formgrader's SubmissionHandler renders it (nbgrader 0.9.6:
    HTMLExporter, template 'formgrade' from formgrader's template folder, no sanitize_html)."""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers
    from traitlets.config import Config

    config = Config()
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    resources = {
        "assignment_id": A,
        "notebook_id": NB[:-6],
        "submission_id": "x",
        "index": 0,
        "total": 1,
        "base_url": "",
        "student": student,
        "last_name": "",
        "first_name": "",
        "notebook_path": "",
    }
    html, _ = HTMLExporter(config=config).from_filename(
        str(course / "autograded" / student / A / NB), resources=resources
    )
    return html


def signature(el) -> tuple:
    return (
        el.name,
        tuple(sorted((k, str(v)) for k, v in el.attrs.items() if k != "id")),
        " ".join(el.get_text().split()),
    )


def event_handlers(soup: BeautifulSoup) -> list[tuple[str, str, str]]:
    return [
        (el.name, a, str(v)) for el in soup.find_all(True) for a, v in el.attrs.items() if a.lower().startswith("on")
    ]


def assert_inert(page: str, clean: str) -> BeautifulSoup:
    soup, own = BeautifulSoup(page, "html.parser"), BeautifulSoup(clean, "html.parser")
    foreign = Counter(signature(e) for e in soup.find_all(DANGEROUS)) - Counter(
        signature(e) for e in own.find_all(DANGEROUS)
    )
    assert not foreign, f"elements the template does not have: {list(foreign)[:5]}"
    handlers = set(event_handlers(own))  # formgrader's template has its own onclick handlers
    for el in soup.find_all(True):
        for attr, value in el.attrs.items():
            value = " ".join(value) if isinstance(value, list) else str(value)
            if attr.lower().startswith("on"):
                assert (el.name, attr, value) in handlers, (el.name, attr, value)
            url = re.sub(r"[\s\x00-\x1f]", "", value).lower()
            assert not url.startswith(("javascript:", "vbscript:")), (el.name, attr, value)
            if url.startswith("data:"):
                assert el.name == "img" and attr == "src" and url.startswith(("data:image/png", "data:image/jpeg")), (
                    el.name,
                    attr,
                    value[:80],
                )
            assert attr.lower() not in ("srcdoc", "formaction"), (el.name, attr)
    return soup


def pages(courses: dict[str, Path]) -> dict[str, tuple[str, str]]:
    """name -> (the attacker's page, the same page of the clean solution)."""
    out = {}
    for route, course in courses.items():
        out[f"{route} feedback"] = (feedback_page(course, "attacker"), feedback_page(course, "clean"))
        out[f"{route} formgrader"] = (formgrader_page(course, "attacker"), formgrader_page(course, "clean"))
    bat = courses["batch"]
    out["batch feedback, hostile file name"] = (feedback_page(bat, "hostile-name"), feedback_page(bat, "clean"))
    out["batch formgrader, hostile file name"] = (formgrader_page(bat, "hostile-name"), formgrader_page(bat, "clean"))
    return out


PAGES = [
    "nbgrader feedback",
    "nbgrader formgrader",
    "batch feedback",
    "batch formgrader",
    "batch feedback, hostile file name",
    "batch formgrader, hostile file name",
]


@pytest.fixture(scope="module")
def rendered(courses) -> dict[str, tuple[str, str]]:
    return pages(courses)


@pytest.mark.parametrize("page", PAGES)
def test_no_student_script_survives_and_the_assignment_still_renders(rendered, page):
    attack, clean = rendered[page]
    soup = assert_inert(attack, clean)
    headings = [" ".join(h.get_text().split()).rstrip("¶ ") for h in soup.find_all(["h2", "h3"])]
    assert KNOWN_HEADING in headings, headings
    assert EDITED_HEADING in headings, headings  # the edited cell is cleaned, not dropped
    text = soup.get_text()
    assert FORMULA in text
    assert "クリック" in text  # the payload's text is shown, its link is gone
    assert "<script>alert('raw')</script>" in text  # the raw cell, shown as it is (escaped once)
    # the judge's message quotes the student's exception (test cell output): shown as text
    assert '<script>alert("type")</script>' in text and '<img src=x onerror=alert("msg")>' in text


def test_batch_note_quotes_the_file_name_as_text(courses, rendered):
    nb = json.loads((courses["batch"] / "autograded" / "hostile-name" / A / NB).read_text(encoding="utf-8"))
    memo = "".join(nb["cells"][0]["source"])
    assert memo.startswith("### 採点メモ") and "\\<img" in memo  # escaped Markdown
    text = BeautifulSoup(rendered["batch feedback, hostile file name"][0], "html.parser").get_text()
    assert HOSTILE_NAME in text


@pytest.mark.parametrize("route", ["nbgrader", "batch"])
def test_autograded_notebook_keeps_only_the_judges_outputs(courses, route):
    """What the instructor opens holds no pasted output, no student metadata, bounded messages."""
    nb = json.loads((courses[route] / "autograded" / "attacker" / A / NB).read_text(encoding="utf-8"))
    released = json.loads((courses[route] / "release" / A / NB).read_text(encoding="utf-8"))
    release_tags = {c["id"]: c["metadata"].get("tags") for c in released["cells"]}  # e.g. raises-exception
    assert set(nb["metadata"]) <= {"kernelspec", "language_info"}
    for cell in nb["cells"]:
        assert cell["metadata"].get("tags") == release_tags.get(cell.get("id")) and "attachments" not in cell
        for out in cell.get("outputs", []):
            assert out["output_type"] in ("stream", "execute_result"), out
            assert set(out.get("data", {"text/plain": ""})) == {"text/plain"}, out
            assert len("".join(out.get("text", ""))) <= MAX_PART_FEEDBACK


def test_feedback_comments_are_cleaned(courses):
    """The batch's gradebook comment quotes the exception; the feedback page shows it inert."""
    from tests.course import comments

    comment = comments(courses["batch"] / "gradebook.db")["attacker"]
    assert '<script>alert("type")</script>' in comment  # the gradebook keeps the plain text
    soup = BeautifulSoup(feedback_page(courses["batch"], "attacker"), "html.parser")
    footers = " ".join(d.get_text() for d in soup.select("div.panel-footer"))
    assert '<script>alert("type")</script>' in footers


def test_instructors_manual_comment_keeps_its_markdown_without_scripts(courses, tmp_path):
    """A manual comment is the instructor's Markdown: its formatting renders, markup that runs does
    not (the gradebook of the nbgrader route, copied, with a comment typed in formgrader)."""
    import shutil

    from nbgrader.api import Gradebook

    course = shutil.copytree(courses["nbgrader"], tmp_path / "course")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.find_comment(
            "linear", NB[:-6], A, "attacker"
        ).manual_comment = (
            "**よくできました** `dW` を確認\n\n<script>alert('comment')</script><img src=x onerror=alert(1)>"
        )
        gb.db.commit()
    nbgrader(course, "generate_feedback", A, "--force")
    page = feedback_page(course, "attacker")
    soup = assert_inert(page, feedback_page(course, "clean"))
    footer = " ".join(d.decode_contents() for d in soup.select("div.panel-footer"))
    assert "<strong>よくできました</strong>" in footer and "<code>dW</code>" in footer, footer
