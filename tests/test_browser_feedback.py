"""The feedback page of a submission with a transposed dW, made by the real `nbgrader autograde`
and `generate_feedback`, in a real headless Chromium (issue 11): it shows the diagnosis, every
picture has loaded, and the Japanese text is drawn with a font that has its glyphs.

The page of a two-bug submission (dW transposed, Sigmoid's derivative taken of x) reads in a minute,
offline (issue 23): Chromium resolves no host, so the formulas are drawn by the MathJax inlined in
the page or not at all; the page's height and its diagnosis lines are printed and bounded; every
image has Japanese alt text; the given helper code is folded; no test cell announces a pass. The heatmap's own
labels are drawn by matplotlib with the bundled Japanese font (tests/test_heatmaps.py checks no glyph
is missing). A screenshot of the Linear part is saved under the test's tmp folder (and copied to
$NB74_BROWSER_SHOT when set).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.browser import fonts_for_text, images_loaded, open_file, screenshot, uncovered
from tests.bugs.catalog import BUGS
from tests.course import add_students, make_course, nbgrader, place
from tests.submissions import make_submission

A, NB = "nb74_matrix_backprop", "matrix_backprop"
TRANSPOSED = next(e for e in BUGS if e.name == "linear_dW_transposed")
DIAGNOSIS = "dW の形状が (2, 3) で、正しくは (3, 2) です（値も転置と一致します）"  # on the visible inputs' shapes


SIGMOID_X = next(e for e in BUGS if e.name == "sigmoid_uses_x")
MAX_HEIGHT = 9_000  # px at 1200 px wide; measured 8,102 (29,904 before issue 23)
WIDTH = 1200


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    course = make_course(tmp_path_factory.mktemp("browser-feedback") / "course")
    add_students(course, ["dw_transposed", "two_bugs"])
    place(course, "dw_transposed", make_submission(course / "in.ipynb", {TRANSPOSED.cell: TRANSPOSED.source}))
    two = {TRANSPOSED.cell: TRANSPOSED.source, SIGMOID_X.cell: SIGMOID_X.source}
    place(course, "two_bugs", make_submission(course / "two.ipynb", two))
    nbgrader(course, "autograde", A)
    nbgrader(course, "generate_feedback", A)
    return course


@pytest.fixture(scope="module")
def feedback(course: Path) -> Path:
    return course / "feedback" / "dw_transposed" / A / f"{NB}.html"


@pytest.fixture(scope="module")
def page(chromium, feedback):
    open_file(chromium, feedback)
    return chromium


def test_the_feedback_leads_with_the_diagnosis(page):
    text = page.execute_script("return document.body.innerText")
    first = text.index("採点（ジャッジ）: 0 / 20 点")
    assert text[first:].split("\n")[1].startswith("- 見立て: dW"), text[first : first + 300]
    assert "正しくは dW = x.T @ dout" in text


def test_every_picture_has_loaded(page):
    images = images_loaded(page)
    pictures = [(src, w) for src, w in images if src.startswith("data:image/png;base64,")]
    assert pictures, images
    assert all(w > 0 for _, w in images), images  # every <img> of the page decoded


def test_japanese_text_has_a_font_with_the_glyphs(page, tmp_path):
    line = "採点（ジャッジ）: 0 / 20 点"
    families = fonts_for_text(page, line)
    assert families and not uncovered(families, line), families
    page.execute_script("document.getElementsByName('test_linear')[0].scrollIntoView()")
    shot = screenshot(page, tmp_path / "feedback.png")
    if os.environ.get("NB74_BROWSER_SHOT"):
        shutil.copy(shot, os.environ["NB74_BROWSER_SHOT"])
    assert shot.stat().st_size > 10_000


# -- the two-bug page, offline (issue 23) ----------------------------------------------------------


@pytest.fixture(scope="module")
def two_bugs(chromium, course):
    """The page as a student opens it from disk: the .html alone (nbgrader's release_feedback
    hands out only that file), copied to a folder of its own."""
    alone = course / "handed-out" / f"{NB}.html"
    alone.parent.mkdir()
    shutil.copy(course / "feedback" / "two_bugs" / A / f"{NB}.html", alone)
    chromium.set_window_size(WIDTH, 900)
    open_file(chromium, alone)
    chromium.set_script_timeout(30)
    typeset = chromium.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) { done('no MathJax'); return; }"
        "MathJax.startup.promise.then(() => done(true), e => done(String(e)));"
    )
    assert typeset is True, typeset
    return chromium


def visible_text(page) -> str:
    return page.execute_script("return document.body.innerText")


def test_formulas_are_drawn_offline(two_bugs):
    page = two_bugs
    sources = page.execute_script(
        "return Array.from(document.querySelectorAll('script[src], link[href], img[src], iframe[src]'))"
        ".map(e => e.getAttribute('src') || e.getAttribute('href'))"
    )
    assert not [u for u in sources if u.startswith(("http:", "https:", "//"))], sources
    drawn = page.execute_script("return document.querySelectorAll('mjx-container svg').length")
    errors = page.execute_script("return document.querySelectorAll('mjx-merror, [data-mjx-error]').length")
    page.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")  # the lesson too
    text = visible_text(page)
    page.execute_script("document.querySelectorAll('details').forEach(d => d.open = false)")
    print(f"MathJax: {drawn} formulas drawn, {errors} errors")
    assert drawn >= 30 and errors == 0
    assert "$\\mathrm" not in text and "$$" not in text and "\\frac" not in text, text[:2000]


def test_the_two_bug_page_reads_in_a_minute(two_bugs, tmp_path):
    page = two_bugs
    height = page.execute_script("return document.documentElement.scrollHeight")
    judge = page.execute_script(
        "return Array.from(document.querySelectorAll('div.output_area pre')).map(p => p.innerText).join('\\n')"
    ).split("\n")
    diagnoses = [ln for ln in judge if "見立て: " in ln]
    telling = [ln for ln in judge if "（正しくは" in ln]  # every diagnosis names the right formula
    print(f"page height {height} px at {WIDTH} px wide; diagnosis lines {len(diagnoses)}: {diagnoses}")
    assert height < MAX_HEIGHT, height
    assert len(diagnoses) == 2 and len(telling) == 2, telling  # one per buggy part and quantity
    assert sum("通りの入力" in ln for ln in judge) >= 2  # the shape cases said once, with how many
    shot = screenshot(page, tmp_path / "two_bugs.png")
    if os.environ.get("NB74_BROWSER_SHOT"):
        shutil.copy(shot, Path(os.environ["NB74_BROWSER_SHOT"]).with_suffix(".two_bugs.png"))


def test_every_image_has_japanese_alt_text(two_bugs):
    alts = two_bugs.execute_script("return Array.from(document.images).map(i => i.alt)")
    assert len(alts) >= 2  # the two heatmaps
    assert all(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", a) for a in alts), alts
    assert not [a for a in alts if re.search(r"[A-Za-z]{3,} [A-Za-z]{3,}", a)], alts  # no English sentence


def test_helper_code_is_folded_and_no_test_cell_announces_a_pass(two_bugs):
    page = two_bugs
    folded = page.execute_script(
        "return Array.from(document.querySelectorAll('details.nb74-fold')).map(d => [d.open, d.textContent.split('\\n').length])"
    )
    assert folded and not any(is_open for is_open, _ in folded)
    assert any(lines > 200 for _, lines in folded)  # the helpers' hundreds of lines are among them
    shown = page.execute_script(
        "return Array.from(document.querySelectorAll('div.input_area')).filter(e => e.offsetParent !== null)"
        ".map(e => e.innerText.split('\\n').length)"
    )
    assert max(shown) < 80, shown  # the longest code shown is a student's answer
    text = visible_text(page)
    assert "合格しました" not in text
    assert "（編集不要の補助コード" in text
