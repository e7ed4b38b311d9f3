"""Japanese text in plots renders with the font shipped by matplotlib_fontja, on any OS, without
"Glyph ... missing from font(s)" warnings (the seed asked for Hiragino Sans, which only macOS has).

The notebook's own plot cell runs in tests/test_source_notebook.py (no stderr allowed there).
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=True)

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font
from matplotlib.text import Text

TITLE, XLABEL, YLABEL = "活性化関数の比較", "入力 x", "出力 y"
LEGEND = ["シグモイド", "ReLU（正規化線形関数）", "双曲線正接 tanh"]
GLYPH_WARNING = ("missing from font", "Glyph")
# the notebook's plot_setup cell
NOTEBOOK_RC = {"axes.unicode_minus": False, "figure.figsize": (10, 6), "font.size": 11}


def draw(path: Path) -> tuple[list[str], Text]:
    """Draw the notebook's activation plot and save it as PNG; return (warning messages, title)."""
    xs = np.linspace(-5, 5, 201)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig, ax = plt.subplots(figsize=(8, 4.5))
        try:
            for ys, label in zip([1 / (1 + np.exp(-xs)), np.maximum(0, xs), np.tanh(xs)], LEGEND):
                ax.plot(xs, ys, label=label)
            title = ax.set_title(TITLE)
            ax.set_xlabel(XLABEL)
            ax.set_ylabel(YLABEL)
            ax.legend()
            fig.savefig(path)  # the draw: glyph lookups happen here
        finally:
            plt.close(fig)
    return [str(w.message) for w in caught], title


def glyph_messages(messages: list[str]) -> list[str]:
    return [m for m in messages if any(key in m for key in GLYPH_WARNING)]


@pytest.fixture
def font_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    # "findfont: Font family ... not found" is logged, not warned
    caplog.set_level(logging.WARNING, logger="matplotlib")
    return caplog


def test_japanese_text_uses_the_bundled_font(tmp_path, font_logs):
    import matplotlib_fontja

    bundled = matplotlib_fontja.get_font_ttf_path()
    with matplotlib.rc_context(NOTEBOOK_RC):
        png = tmp_path / "activations.png"
        messages, title = draw(png)
        resolved = font_manager.findfont(title.get_fontproperties(), fallback_to_default=False)

    assert not glyph_messages(messages), glyph_messages(messages)
    font_warnings = [r.getMessage() for r in font_logs.records if r.name.startswith("matplotlib")]
    assert not font_warnings, font_warnings
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert os.path.samefile(resolved, bundled), f"title font {resolved}, bundled {bundled}"
    # and that font really has every character we drew (no tofu boxes)
    font = FT2Font(bundled)
    missing = {ch for text in [TITLE, XLABEL, YLABEL, *LEGEND] for ch in text if font.get_char_index(ord(ch)) == 0}
    assert not missing, f"characters missing from {bundled}: {missing}"


def test_control_a_latin_only_font_is_caught(tmp_path):
    # the same drawing without a Japanese font must produce the warning the test above looks for
    import matplotlib_fontja  # noqa: F401  (imported or not, the rc below overrides its family)

    with matplotlib.rc_context({**NOTEBOOK_RC, "font.family": ["DejaVu Sans"]}):
        messages, _ = draw(tmp_path / "tofu.png")
    assert glyph_messages(messages), messages
