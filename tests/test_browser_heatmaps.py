"""The feedback's gradient heatmaps in a real headless Chromium: the images decode, and Japanese
text beside them is drawn with a font that has its glyphs (not boxes).

A screenshot of the page is saved under the test's tmp folder, and copied to $NB74_BROWSER_SHOT
when that is set (to look at it).
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autograder.assignments.nb74_matrix_backprop.public.heatmaps import gradient_figure, img_tag
from tests.browser import font_files, fonts_for_text, images_loaded, open_file, screenshot, uncovered

PARAGRAPH = "勾配の図: あなたの dW は転置されています。db は 2 倍ずれています（行列の形と係数を確かめてください）。"
EXPECTED = np.random.default_rng(11).standard_normal((3, 2))


def page(path: Path) -> Path:
    transposed = gradient_figure("dW", EXPECTED.T, EXPECTED, "Linear.backward の dW（転置）")
    scaled = gradient_figure("db", 2 * EXPECTED[:, 0], EXPECTED[:, 0], "Linear.backward の db（2 倍）")
    path.write_text(
        '<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8"><title>勾配の図</title>'
        "<style>body { font-family: sans-serif; margin: 8px; }</style></head><body>"
        f"<p>{PARAGRAPH}</p>"
        f"<div>{img_tag(transposed, 'dW の図: あなたの勾配、正しい勾配、形状の違い')}</div>"
        f"<div>{img_tag(scaled, 'db の図: あなたの勾配、正しい勾配、差')}</div>"
        "</body></html>",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def heatmap_page(chromium, tmp_path_factory):
    path = page(tmp_path_factory.mktemp("browser") / "heatmaps.html")
    open_file(chromium, path)
    return chromium, path


def test_every_heatmap_image_decodes(heatmap_page):
    driver, _ = heatmap_page
    images = images_loaded(driver)
    assert len(images) == 2, images
    for src, width in images:
        assert src.startswith("data:image/png;base64,") and width == 630, images  # 7 in at 90 dpi


def test_japanese_text_is_drawn_with_a_font_that_has_the_glyphs(heatmap_page):
    driver, _ = heatmap_page
    families = fonts_for_text(driver, PARAGRAPH)
    assert families, "Chromium reported no font for the paragraph"
    assert not uncovered(families, PARAGRAPH), (
        f"fonts used {families} lack {sorted(uncovered(families, PARAGRAPH))}: install a Japanese font "
        "(make system-deps as root installs fonts-ipafont-gothic)"
    )


def test_control_a_latin_font_lacks_the_glyphs():
    # the check above can fail: without a Japanese font Chromium reports e.g. Liberation Serif
    if not font_files("DejaVu Sans"):
        pytest.skip("DejaVu Sans not installed")
    assert {"勾", "配", "の", "転"} <= uncovered(["DejaVu Sans"], PARAGRAPH)


def test_full_page_screenshot(heatmap_page, tmp_path):
    driver, _ = heatmap_page
    shot = screenshot(driver, tmp_path / "heatmaps-page.png")
    with Image.open(io.BytesIO(shot.read_bytes())) as image:
        width, height = image.size
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16) or []
    assert width >= 630 and height >= 2 * 216, (width, height)  # both figures fit, none cut off
    assert len(colours) > 50  # heatmaps drawn, not a blank page
    if os.environ.get("NB74_BROWSER_SHOT"):
        shutil.copyfile(shot, os.environ["NB74_BROWSER_SHOT"])


@pytest.mark.parametrize(
    "euid, apt_get, outcome",
    [(1000, "/usr/bin/apt-get", "skip"), (0, None, "skip"), (0, "/usr/bin/apt-get", "fail")],
)
def test_missing_chromium_skips_only_where_it_cannot_be_installed(monkeypatch, tmp_path, euid, apt_get, outcome):
    import browser

    monkeypatch.setattr(browser, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setattr(browser.os, "geteuid", lambda: euid)
    monkeypatch.setattr(browser.shutil, "which", lambda name: apt_get if name == "apt-get" else None)
    if outcome == "fail":
        with pytest.raises(pytest.fail.Exception, match="make system-deps"):
            browser.missing_reason()
    else:
        assert "not installed" in (browser.missing_reason() or "")
