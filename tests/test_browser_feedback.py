"""The feedback page of a submission with a transposed dW, made by the real `nbgrader autograde`
and `generate_feedback`, in a real headless Chromium (issue 11): it shows the diagnosis, every
picture has loaded, and the Japanese text is drawn with a font that has its glyphs. The heatmap's own
labels are drawn by matplotlib with the bundled Japanese font (tests/test_heatmaps.py checks no glyph
is missing). A screenshot of the Linear part is saved under the test's tmp folder (and copied to
$NB74_BROWSER_SHOT when set).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from browser import chromium, fonts_for_text, images_loaded, open_file, screenshot  # noqa: F401
from test_browser_heatmaps import uncovered

from tests.bugs.catalog import BUGS
from tests.course import add_students, make_course, nbgrader, place
from tests.submissions import make_submission

A, NB = "nb74_matrix_backprop", "matrix_backprop"
TRANSPOSED = next(e for e in BUGS if e.name == "linear_dW_transposed")
DIAGNOSIS = "dW の形状が (2, 3) で、正しくは (3, 2) です（値も転置と一致します）"  # on the visible inputs' shapes


@pytest.fixture(scope="module")
def feedback(tmp_path_factory: pytest.TempPathFactory) -> Path:
    course = make_course(tmp_path_factory.mktemp("browser-feedback") / "course")
    add_students(course, ["dw_transposed"])
    place(course, "dw_transposed", make_submission(course / "in.ipynb", {TRANSPOSED.cell: TRANSPOSED.source}))
    nbgrader(course, "autograde", A)
    nbgrader(course, "generate_feedback", A)
    return course / "feedback" / "dw_transposed" / A / f"{NB}.html"


@pytest.fixture(scope="module")
def page(chromium, feedback):  # noqa: F811
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
