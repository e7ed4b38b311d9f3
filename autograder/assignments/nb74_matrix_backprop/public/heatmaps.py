"""Gradient heatmaps for the feedback: the student's gradient, the right one and their difference.

`gradient_figure` returns the PNG bytes of one small figure with three panels side by side. When
the shapes differ (a transposed dW), each array is drawn in its own shape and the third panel says
the shapes in words. The input is whatever a student's code produced, so nothing here may raise on
it: NaN/inf are drawn masked (grey) and counted in the panel title, 0-d and 1-d arrays become one
row, >2-d arrays are stacked into rows, an empty or non-numeric array becomes a text panel.

`plan` (pure NumPy) decides what each panel shows; `render` draws a plan with matplotlib's Agg
canvas (no pyplot, no global backend), imported only on the first figure.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.image import AxesImage
    from matplotlib.typing import RcKeyType

FIGSIZE = (7.0, 2.4)  # inches
DPI = 90
CMAP = "RdBu_r"  # diverging: blue negative, white 0, red positive
BAD_COLOUR = "0.6"  # NaN/inf cells
# Normalize computes (x - vmin) / (vmax - vmin): outside this band the data are divided by their
# limit first (2e308 overflows, a subnormal range breaks the colorbar's ticks).
SAFE_LIMITS = (1e-100, 1e100)
MAX_TITLE, MAX_QUANTITY = 100, 24
TICK_EVERY_INDEX = 12  # up to this many rows/columns, every index is a tick
MAX_EQUAL_ASPECT = 6.0  # square cells unless the array is thinner than this ratio
# figure fractions: (left of each heatmap, left of the colorbar after it), and the panels' band
PANEL_COLUMNS = ((0.04, 0.0), (0.33, 0.575), (0.67, 0.915))
PANEL_BOTTOM, PANEL_TOP, TITLE_LINE = 0.1, 0.8, 0.065  # the top for one-line panel titles
PANEL_WIDTH = 0.23
MAX_CELLS = 64  # per axis: a panel is ~150 px wide, larger arrays are sampled every k-th row/column
RC: dict[RcKeyType, Any] = {
    "font.family": ["IPAexGothic"],
    "font.size": 7.5,
    "axes.unicode_minus": False,
    "axes.titlesize": 8.5,
}


@dataclass(frozen=True)
class Panel:
    """One of the three panels: a 2-D array to draw (may hold NaN/inf), or lines of text."""

    title: str
    data: np.ndarray | None = None
    lines: tuple[str, ...] = ()
    limit: float = 1.0  # the colour scale is [-limit, limit]
    shape: tuple[int, int] = (0, 0)  # of the rows before sampling (data may hold every k-th one)


@dataclass(frozen=True)
class Plan:
    title: str
    panels: tuple[Panel, Panel, Panel]


def shape_message(got_shape: tuple[int, ...], expected_shape: tuple[int, ...]) -> str:
    return f"形状が違います: あなた {got_shape}、正しくは {expected_shape}"


def _numeric(a: object) -> tuple[np.ndarray | None, str]:
    """float64 array of a, or None with the reason; complex values keep their real part."""
    try:
        arr = np.asarray(a)
        note = ""
        if np.iscomplexobj(arr):
            arr, note = arr.real, "実部のみ"
        return np.array(arr, dtype=np.float64), note
    except (TypeError, ValueError, OverflowError):
        return None, "数値の配列ではありません"


def _as_2d(arr: np.ndarray) -> tuple[np.ndarray | None, str]:
    """The array as rows to draw, with a note when its shape had to change."""
    if arr.size == 0:
        return None, f"空の配列です（形状 {arr.shape}）"
    if arr.ndim <= 1:
        return arr.reshape(1, -1), ""
    if arr.ndim == 2:
        return arr, ""
    rows = arr.reshape(-1, arr.shape[-1])
    return rows, f"{arr.ndim} 次元 → {rows.shape[0]}×{rows.shape[1]} に並べました"


def _nonfinite_note(arr: np.ndarray) -> str:
    counts = [("NaN", int(np.isnan(arr).sum())), ("inf", int(np.isinf(arr).sum()))]
    parts = [f"{name} {n} 個" for name, n in counts if n]
    return "・".join(parts) + "（灰色）" if parts else ""


def _limit(*arrays: np.ndarray | None) -> float:
    """Largest finite magnitude over the arrays (1.0 when there is none or it is 0)."""
    finite = [np.abs(a[np.isfinite(a)]) for a in arrays if a is not None]
    peak = max((float(f.max()) for f in finite if f.size), default=0.0)
    return peak if 0.0 < peak < np.inf else 1.0


def _data_panel(title: str, rows: np.ndarray, limit: float) -> Panel:
    """A heatmap panel; the title says when the array was sampled or its values divided by the limit."""
    steps = [-(-n // MAX_CELLS) for n in rows.shape]
    sampled = f"{rows.shape[0]}×{rows.shape[1]} を間引いて表示" if max(steps) > 1 else ""
    shape = (int(rows.shape[0]), int(rows.shape[1]))
    data, scaled = rows[:: steps[0], :: steps[1]], ""
    if not SAFE_LIMITS[0] <= limit <= SAFE_LIMITS[1]:
        with np.errstate(all="ignore"):
            data = data / limit
        scaled, limit = f"値 × {limit:.3g}", 1.0
    return Panel(_title(title, sampled, scaled), data, limit=limit, shape=shape)


def _title(label: str, *notes: str) -> str:
    return "\n".join([label, *(n for n in notes if n)])


def _shape(arr: np.ndarray | None) -> tuple[int, ...] | None:
    return None if arr is None else tuple(int(n) for n in arr.shape)


def plan(quantity: str, got: object, expected: object, title: str) -> Plan:
    """What each panel shows (no drawing)."""
    q = str(quantity)[:MAX_QUANTITY]
    sides = []
    for label, value in ((f"あなたの勾配 {q}", got), (f"正しい勾配 {q}", expected)):
        arr, note = _numeric(value)
        rows, shape_note = _as_2d(arr) if arr is not None else (None, "")
        sides.append((label, arr, rows, note, shape_note))
    limit = _limit(sides[0][2], sides[1][2])
    panels: list[Panel] = []
    for label, _arr, rows, note, shape_note in sides:
        if rows is None:
            panels.append(Panel(label, lines=(note or shape_note,)))
        else:
            panels.append(_data_panel(_title(label, note, shape_note, _nonfinite_note(rows)), rows, limit))
    panels.append(_difference(sides[0][1], sides[1][1]))
    return Plan(str(title)[:MAX_TITLE], (panels[0], panels[1], panels[2]))


def _difference(got: np.ndarray | None, expected: np.ndarray | None) -> Panel:
    label = "差（あなた − 正解）"
    g_shape, e_shape = _shape(got), _shape(expected)
    if got is None or expected is None or g_shape is None or e_shape is None:
        return Panel(label, lines=("比べられません",))
    if g_shape != e_shape:
        return Panel(label, lines=("形状が違います:", f"あなた {g_shape}", f"正しくは {e_shape}"))
    with np.errstate(all="ignore"):
        diff = got - expected
    rows, _ = _as_2d(diff)
    if rows is None:
        return Panel(label, lines=("空の配列です",))
    return _data_panel(_title(label, _nonfinite_note(rows)), rows, _limit(rows))


def gradient_figure(quantity: str, got: np.ndarray, expected: np.ndarray, title: str) -> bytes:
    """PNG bytes of the three heatmaps; never raises on the arrays a student produced."""
    try:
        return render(plan(quantity, got, expected, title))
    except Exception:  # a feedback figure must never cost the grade: say it in a text figure
        fallback = Panel("図", lines=("図を描けませんでした",))
        return render(Plan(str(title)[:MAX_TITLE], (fallback, fallback, fallback)))


def render(the_plan: Plan) -> bytes:
    import matplotlib
    import matplotlib_fontja  # type: ignore[import-untyped]  # noqa: F401  (registers IPAexGothic with matplotlib's font manager)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context(RC):
        fig = Figure(figsize=FIGSIZE, dpi=DPI)  # fixed positions: a layout engine doubles the time
        canvas = FigureCanvasAgg(fig)
        fig.suptitle(the_plan.title, fontsize=10, y=0.97, parse_math=False)
        bottom, height = _panel_band(the_plan)
        axes = [fig.add_axes((left, bottom, PANEL_WIDTH, height)) for left, _ in PANEL_COLUMNS]
        images = [_draw(ax, panel) for ax, panel in zip(axes, the_plan.panels)]
        # one colorbar for the shared scale of got/expected (right of panel 2), one for the difference
        for image, (_, bar_left) in zip(
            (images[1] if images[1] is not None else images[0], images[2]), PANEL_COLUMNS[1:]
        ):
            if image is not None:
                cax = fig.add_axes((bar_left, bottom + 0.04, 0.012, height - 0.08))
                fig.colorbar(image, cax=cax).ax.tick_params(labelsize=6, length=2, pad=1)
        raw = io.BytesIO()
        fig.savefig(raw, format="rgba", dpi=DPI)
    width, _ = canvas.get_width_height()
    return _png(np.frombuffer(raw.getvalue(), dtype=np.uint8).reshape(-1, width, 4))


def _panel_band(the_plan: Plan) -> tuple[float, float]:
    """(bottom, height) of the panels: each further line of a panel title takes some from the top."""
    lines = max(panel.title.count("\n") + 1 for panel in the_plan.panels)
    return PANEL_BOTTOM, PANEL_TOP - TITLE_LINE * (lines - 1) - PANEL_BOTTOM


def _png(rgba: np.ndarray) -> bytes:
    """A 256-colour PNG: a quarter of the RGBA file's size (noise-like arrays stay under 60 KB)."""
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(rgba[..., :3])).quantize(256, method=Image.Quantize.MEDIANCUT)
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _draw(ax: Axes, panel: Panel) -> AxesImage | None:
    """Draw a panel on ax; return the image for a colorbar, None for text."""
    from matplotlib import colormaps
    from matplotlib.ticker import MaxNLocator

    ax.set_title(panel.title, parse_math=False)
    if panel.data is None:
        ax.set_axis_off()
        ax.text(0.5, 0.5, "\n".join(panel.lines), ha="center", va="center", fontsize=9, parse_math=False)
        return None
    data, limit = panel.data, panel.limit
    rows, cols = panel.shape
    aspect: Literal["equal", "auto"] = "equal" if max(rows, cols) / min(rows, cols) <= MAX_EQUAL_ASPECT else "auto"
    cmap = colormaps[CMAP].with_extremes(bad=BAD_COLOUR)
    im = ax.imshow(
        np.ma.masked_invalid(data),
        cmap=cmap,
        vmin=-limit,
        vmax=limit,
        aspect=aspect,
        interpolation="nearest",
        extent=(-0.5, cols - 0.5, rows - 0.5, -0.5),  # axes count the rows before sampling
    )
    for axis, n in ((ax.xaxis, cols), (ax.yaxis, rows)):
        if n <= TICK_EVERY_INDEX:
            axis.set_ticks(range(n))
        else:
            axis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    ax.tick_params(length=2, pad=1)
    return im


def alt_text(quantity: str, title: str) -> str:
    """What the figure shows, for a reader who cannot see it (the <img>'s alt)."""
    q = str(quantity)[:MAX_QUANTITY]
    return f"{str(title)[:MAX_TITLE]}: 3 枚のヒートマップ。左から あなたの勾配 {q}、正しい勾配 {q}、差（あなた − 正解）"


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def img_tag(png: bytes, alt: str) -> str:
    return f'<img src="{data_uri(png)}" alt="{html.escape(alt, quote=True)}">'
