"""The class report's pictures: histograms of the totals and of each part's score, as PNG bytes,
labelled in Japanese (matplotlib with the bundled IPAex font, as the feedback's heatmaps)."""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..course.assignment import Rubric
from . import messages as say
from .graded import Graded

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

DPI = 110
RC: dict[RcKeyType, Any] = {"font.family": ["IPAexGothic"], "font.size": 9, "axes.unicode_minus": False}
BAR = "#4c72b0"


@contextmanager
def _figure(width: float, height: float) -> Iterator[Any]:
    """A matplotlib Figure on its own Agg canvas (no pyplot, no global backend), with the report's
    Japanese font; the caller draws on it inside the block."""
    import matplotlib
    import matplotlib_fontja  # type: ignore[import-untyped]  # noqa: F401  (registers IPAexGothic with matplotlib's font manager)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(width, height), layout="constrained")
        FigureCanvasAgg(fig)
        yield fig


def _png(fig: Any) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def _bins(points: float, step: float) -> list[float]:
    """Edges from 0 to points (inclusive: full marks get their own last bin's right edge)."""
    n = max(1, math.ceil(points / step))
    return [min(points, i * step) for i in range(n + 1)]


def _histogram(ax: Any, values: list[float], points: float, step: float, title: str, xlabel: str) -> None:
    ax.hist(values, bins=_bins(points, step), color=BAR, edgecolor="white")
    ax.set_title(title, parse_math=False)
    ax.set_xlabel(xlabel, parse_math=False)
    ax.set_ylabel(say.COUNT_AXIS, parse_math=False)
    ax.set_xlim(0, points)
    ax.yaxis.get_major_locator().set_params(integer=True)


def totals_figure(cls: list[Graded], rubric: Rubric) -> bytes:
    top = rubric.max_score
    with _figure(7.0, 3.0) as fig:
        _histogram(
            fig.add_subplot(), [g.total for g in cls], top, top / 20, say.totals_title(len(cls)), say.TOTALS_AXIS
        )
        return _png(fig)


def parts_figure(cls: list[Graded], rubric: Rubric) -> bytes:
    parts = list(rubric.parts.values())
    cols = 3
    rows = math.ceil(len(parts) / cols)
    with _figure(7.5, 2.3 * rows) as fig:
        for i, part in enumerate(parts):
            ax = fig.add_subplot(rows, cols, i + 1)
            values = [g.scores.get(part.name, 0.0) for g in cls]
            _histogram(ax, values, part.points, max(part.points / 10, 0.5), part.title, say.part_axis(part.points))
        return _png(fig)
