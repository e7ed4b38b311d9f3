"""autograder/assignments/nb74_matrix_backprop/public/heatmaps.py: the feedback's gradient figure is a small PNG with readable Japanese,
shows a transpose as two shapes and the shapes in words, and never raises on what a student's
code can produce (NaN, inf, 0-d, 3-d, empty, 1e300, non-numeric)."""

from __future__ import annotations

import base64
import io
import logging
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from PIL import Image

from autograder.assignments.nb74_matrix_backprop.public import heatmaps
from autograder.assignments.nb74_matrix_backprop.public.heatmaps import data_uri, gradient_figure, img_tag, plan, render

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_BYTES = 60_000
GREY = (153, 153, 153)  # BAD_COLOUR "0.6"
W = np.random.default_rng(74).standard_normal((3, 2))

EDGE_CASES = {
    "nan": (np.array([[np.nan, 1.0], [2.0, 3.0]]), np.ones((2, 2))),
    "inf": (np.array([np.inf, -np.inf, 1.0]), np.zeros(3)),
    "all-nan": (np.full((2, 3), np.nan), np.ones((2, 3))),
    "0-d": (np.float64(2.5), np.float64(1.0)),
    "0-d vs 1-d": (np.array(2.5), np.ones(1)),
    "3-d": (np.arange(24.0).reshape(2, 3, 4), np.zeros((2, 3, 4))),
    "5-d": (np.ones((2, 1, 2, 1, 2)), np.ones((2, 1, 2, 1, 2))),
    "size 0": (np.zeros((0, 3)), np.zeros((0, 3))),
    "size 0 vs full": (np.zeros((0,)), np.ones((2, 3))),
    "1e300": (np.full((2, 2), 1e300), np.full((2, 2), -1e300)),
    "1e308 overflow": (np.array([[1.7e308, -1.7e308]]), np.array([[-1.7e308, 1.7e308]])),
    "subnormal": (np.array([[5e-324, -1e-320]]), np.zeros((1, 2))),
    "all zero": (np.zeros((2, 2)), np.zeros((2, 2))),
    "complex": (np.array([1 + 2j, 3 - 1j]), np.ones(2)),
    "bool and int": (np.array([[True, False]]), np.array([[1, 0]], dtype=np.int8)),
    "ragged list": ([[1.0, 2.0], [3.0]], np.ones((2, 2))),
    "strings": (np.array(["a", "b"]), np.ones(2)),
    "None": (None, np.ones(2)),
    "object with None": (np.array([None, 1.0], dtype=object), np.ones(2)),
    "structured": (np.zeros(2, dtype=[("a", "f8")]), np.ones(2)),
    "datetime64": (np.array(["2026-12-03"], dtype="datetime64[D]"), np.ones(1)),
    "tall": (np.ones((1000, 1)), np.ones((1000, 1))),
    "large": (np.random.default_rng(0).standard_normal((1024, 1024)), np.zeros((1024, 1024))),
}


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == PNG_SIGNATURE
    with Image.open(io.BytesIO(png)) as image:
        return image.size


def pixels_of(png: bytes, colour: tuple[int, int, int]) -> int:
    with Image.open(io.BytesIO(png)) as image:
        return sum(n for n, c in image.convert("RGB").getcolors(maxcolors=1 << 16) or [] if c == colour)


def check_png(png: bytes) -> None:
    width, height = png_size(png)
    assert (width, height) == (630, 216)  # 7 x 2.4 inches at 90 dpi
    assert len(png) < MAX_BYTES, len(png)


def test_transposed_dw_shows_both_shapes_and_says_them():
    p = plan("dW", W.T, W, "Linear の dW")
    got, expected, third = p.panels
    assert got.data is not None and got.data.shape == (2, 3)
    assert expected.data is not None and expected.data.shape == (3, 2)
    assert third.data is None and third.lines == ("形状が違います:", "あなた (2, 3)", "正しくは (3, 2)")
    assert heatmaps.shape_message((2, 3), (3, 2)) == "形状が違います: あなた (2, 3)、正しくは (3, 2)"
    assert got.limit == expected.limit == pytest.approx(np.abs(W).max())
    check_png(gradient_figure("dW", W.T, W, "Linear の dW"))


def test_scale_error_shares_the_colour_scale_and_draws_the_difference():
    got, expected, diff = plan("dW", 4 * W, W, "4 倍").panels
    assert got.title.startswith("あなたの勾配 dW") and expected.title.startswith("正しい勾配 dW")
    assert diff.title.startswith("差（あなた − 正解）")
    assert got.limit == expected.limit == pytest.approx(4 * np.abs(W).max())
    assert diff.data is not None and np.allclose(diff.data, 3 * W)
    assert diff.limit == pytest.approx(3 * np.abs(W).max())  # its own scale, with its own colorbar
    check_png(gradient_figure("dW", 4 * W, W, "4 倍"))


def test_1d_db_is_one_row():
    got, expected, diff = plan("db", np.arange(5.0), np.ones(5), "db").panels
    assert got.data is not None and got.data.shape == (1, 5)
    assert diff.data is not None and diff.data.shape == (1, 5)


def test_nan_and_inf_are_masked_and_counted():
    got = np.array([[np.nan, 1.0, np.inf], [2.0, -np.inf, 0.0]])
    p = plan("dx", got, np.ones((2, 3)), "t")
    assert "NaN 1 個・inf 2 個（灰色）" in p.panels[0].title
    assert "NaN" not in p.panels[1].title
    assert "NaN 1 個・inf 2 個" in p.panels[2].title  # nan - 1 and ±inf - 1
    assert p.panels[0].limit == 2.0  # finite values only
    # masked cells are grey areas (antialiased text has a few grey pixels too)
    assert pixels_of(render(p), GREY) > 1000
    assert pixels_of(render(plan("dx", np.ones((2, 3)), np.ones((2, 3)), "t")), GREY) < 100


def test_text_panels_for_empty_and_non_numeric():
    empty = plan("dW", np.zeros((0, 3)), np.ones((2, 3)), "t").panels
    assert empty[0].data is None and empty[0].lines == ("空の配列です（形状 (0, 3)）",)
    assert empty[2].lines[0] == "形状が違います:"
    words = plan("dW", np.array(["a"]), np.ones(1), "t").panels
    assert words[0].lines == ("数値の配列ではありません",) and words[2].lines == ("比べられません",)


def test_higher_dimensions_are_stacked_into_rows():
    got = plan("dx", np.zeros((2, 3, 4)), np.zeros((2, 3, 4)), "t").panels[0]
    assert got.data is not None and got.data.shape == (6, 4)
    assert "3 次元 → 6×4 に並べました" in got.title


def test_large_arrays_are_sampled_and_counted_in_full():
    big = np.zeros((1024, 1024))
    big[0, 0] = np.nan
    got = plan("dx", big, np.zeros((1024, 1024)), "t").panels[0]
    assert got.data is not None and got.data.shape == (64, 64) and got.shape == (1024, 1024)
    assert "1024×1024 を間引いて表示" in got.title and "NaN 1 個" in got.title


@pytest.mark.parametrize("name", list(EDGE_CASES))
def test_edge_cases_draw_without_the_fallback(name):
    got, expected = EDGE_CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from overflow, no glyph warning either
        png = render(plan("dW", got, expected, f"境界の例: {name}"))
    check_png(png)
    check_png(gradient_figure("dW", got, expected, name))


def test_titles_with_dollars_and_long_text_are_drawn_literally():
    png = gradient_figure("$\\frac{", W, W, "$\\undefined{ " + "長い題名" * 100)
    check_png(png)


def test_japanese_labels_use_the_bundled_font_without_missing_glyphs(caplog):
    import matplotlib_fontja
    from matplotlib import font_manager
    from matplotlib.font_manager import FontProperties

    caplog.set_level(logging.WARNING, logger="matplotlib")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gradient_figure("dW", W.T, W, "Linear.backward の dW（転置）")
        gradient_figure("dx", np.array([np.nan, 1.0]), np.ones(2), "NaN と inf")
    messages = [str(w.message) for w in caught] + [r.getMessage() for r in caplog.records]
    assert not [m for m in messages if "Glyph" in m or "missing from font" in m or "findfont" in m], messages
    resolved = font_manager.findfont(FontProperties(family=heatmaps.RC["font.family"]), fallback_to_default=False)
    assert os.path.samefile(resolved, matplotlib_fontja.get_font_ttf_path())


def test_control_a_latin_font_would_be_caught(monkeypatch):
    monkeypatch.setitem(heatmaps.RC, "font.family", ["DejaVu Sans"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        render(plan("dW", W.T, W, "転置"))
    assert any("missing from font" in str(w.message) for w in caught)


def test_data_uri_and_img_tag():
    png = gradient_figure("db", np.ones(3), np.zeros(3), "db")
    uri = data_uri(png)
    assert uri.startswith("data:image/png;base64,") and base64.b64decode(uri.split(",", 1)[1]) == png
    tag = img_tag(png, 'dW の図 "><script>alert(1)</script>&')
    assert tag.startswith(f'<img src="{uri}" alt="') and tag.endswith('">')
    assert "<script>" not in tag and "&quot;&gt;&lt;script&gt;" in tag and "&amp;" in tag


def test_import_is_light_and_no_pyplot():
    code = (
        "import sys, numpy as np\n"
        "import autograder.assignments.nb74_matrix_backprop.public.heatmaps as h\n"
        "print('matplotlib' in sys.modules)\n"
        "h.gradient_figure('dW', np.ones((2, 3)), np.ones((3, 2)), 't')\n"
        "print('matplotlib.pyplot' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=heatmaps_root())
    assert out.stdout.split() == ["False", "False"], out


def heatmaps_root() -> str:
    """The kit's folder (the kit is not installed in its venv: `autograder` is found from there)."""
    from autograder.course.assignment import ROOT

    return str(ROOT)


def test_extreme_magnitudes_are_divided_by_their_limit_and_say_so():
    got, expected, diff = plan("dx", np.full((2, 2), 1e300), np.full((2, 2), -1e300), "t").panels
    assert "値 × 1e+300" in got.title and got.limit == 1.0
    assert got.data is not None and np.all(got.data == 1.0)
    assert "値 × 2e+300" in diff.title
    tiny = plan("dx", np.array([[5e-324, 0.0]]), np.zeros((1, 2)), "t").panels[0]
    assert "値 × 4.94e-324" in tiny.title and tiny.data is not None and tiny.data[0, 0] == 1.0


def test_an_unexpected_error_gives_a_text_figure(monkeypatch):
    def broken(*args):
        raise RuntimeError("bug")

    monkeypatch.setattr(heatmaps, "plan", broken)
    check_png(gradient_figure("dW", W, W, "t"))
