"""Student-controlled text never runs as HTML where the student or the instructor opens it.

The autograded notebook (which formgrader renders, and generate_feedback turns into the feedback
HTML) is made safe in itself, so that every renderer is covered whatever its configuration:

- code cells keep no output of the student's (the judge writes the test cells' outputs afterwards);
- a markdown cell the release does not have verbatim is rendered to HTML, cleaned with nh3 (an
  allowlist: text formatting, tables, code, links only to absolute http(s) URLs with a host
  name and to #anchors (safe_link), images only as embedded raster data; safe_html.py) and stored as one line of HTML in a <div>, which Markdown renderers pass through
  untouched (no second Markdown pass could turn cleaned text into a link); a raw cell the
  release does not have becomes such a markdown cell showing its text verbatim (HTML exporters
  insert raw cells as they are). Cleaning twice changes nothing;
- cell and notebook metadata are cut down to what nbgrader and Jupyter need;
- text from the judge (which embeds the student's exception types and messages) is bounded and
  stripped of control characters; where it lands in Markdown it is escaped (plain_text.py).

nbgrader's feedback template renders markdown cells and gradebook comments without nbconvert's
sanitizer, so SanitizeFeedback (routes/nbgrader_hooks/preprocessors/) (a GenerateFeedback preprocessor, after GetGrades)
cleans both again at feedback time; nbgrader_config.py also sets HTMLExporter.sanitize_html
(cell outputs, JavaScript, widget state) for generate_feedback.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from ..course.assignment import Assignment
from ..course.plain_text import MAX_PART_FEEDBACK, bounded
from .messages import PICTURE
from .safe_html import RASTER_TYPES, is_cleaned, preformatted, safe_markdown

SAFE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")  # nbformat's cell id pattern; grade ids, tags
NBGRADER_KEYS = {
    "cell_type",
    "checksum",
    "grade",
    "grade_id",
    "locked",
    "points",
    "schema_version",
    "solution",
    "task",
}  # nbgrader's cell metadata (schema 3)


@cache
def trusted_texts(assignment: Assignment) -> frozenset[str]:
    """Markdown and raw cells of the kit's own notebooks of the assignment: shown as they are."""
    texts = set()
    for path in (assignment.source(), assignment.release()):
        if path.is_file():
            for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
                if cell.get("cell_type") in ("markdown", "raw"):
                    texts.add(_text(cell.get("source", "")))
    return frozenset(texts)


def notebook_texts(path: Any) -> frozenset[str]:
    """The markdown and raw cells' texts of an instructor's notebook (none if it is not there)."""
    from pathlib import Path

    if not Path(path).is_file():
        return frozenset()
    cells = json.loads(Path(path).read_text(encoding="utf-8")).get("cells", [])
    return frozenset(_text(c.get("source", "")) for c in cells if c.get("cell_type") in ("markdown", "raw"))


def _text(source: Any) -> str:
    return "".join(map(str, source)) if isinstance(source, list) else str(source)


def _clean_metadata(meta: Any) -> dict[str, Any]:
    meta = meta if isinstance(meta, dict) else {}
    out: dict[str, Any] = {k: meta[k] for k in ("deletable", "editable") if isinstance(meta.get(k), bool)}
    tags = meta.get("tags")
    if isinstance(tags, list) and all(isinstance(t, str) and SAFE_NAME.match(t) for t in tags):
        out["tags"] = list(tags)
    nbg = meta.get("nbgrader")
    if (
        isinstance(nbg, dict)
        and isinstance(nbg.get("grade_id", ""), str)
        and SAFE_NAME.match(nbg.get("grade_id") or "x")
    ):
        out["nbgrader"] = {
            k: v for k, v in nbg.items() if k in NBGRADER_KEYS and isinstance(v, (bool, int, float, str))
        }
    return out


MAX_PICTURE_BYTES = 200_000  # a heatmap figure is ~30 KB


def judge_picture(out: dict[str, Any]) -> bool:
    """A judge's heatmap: exactly a base64 PNG (checked by its signature) and a plain-text caption."""
    import base64
    import binascii

    data = out.get("data")
    if not isinstance(data, dict) or set(data) != {"image/png", "text/plain"}:
        return False
    png, caption = data["image/png"], data["text/plain"]
    if not isinstance(png, str) or not isinstance(caption, str) or len(png) > MAX_PICTURE_BYTES * 4 // 3 + 4:
        return False
    try:
        return base64.b64decode(png, validate=True).startswith(b"\x89PNG\r\n\x1a\n")
    except (binascii.Error, ValueError):
        return False


def text_outputs(outputs: Any) -> list[dict[str, Any]]:
    """The outputs the judge writes (stdout text, its heatmap pictures and a plain-text result),
    bounded; nothing else."""
    kept: list[dict[str, Any]] = []
    for out in outputs if isinstance(outputs, list) else []:
        kind = out.get("output_type") if isinstance(out, dict) else None
        if kind == "stream" and out.get("name") == "stdout":
            kept.append(
                {
                    "output_type": "stream",
                    "name": "stdout",
                    "text": bounded(_text(out.get("text", "")), MAX_PART_FEEDBACK),
                }
            )
        elif kind == "display_data" and judge_picture(out):
            meta = out.get("metadata")
            png_meta = meta.get("image/png") if isinstance(meta, dict) else None
            alt = png_meta.get("alt") if isinstance(png_meta, dict) else None
            alt = alt if isinstance(alt, str) else PICTURE
            kept.append(
                {
                    "output_type": "display_data",
                    # the alt text, bounded (nbconvert escapes it): else the page says it in English
                    "metadata": {"image/png": {"alt": bounded(_text(alt), 300)}},
                    "data": {
                        "image/png": out["data"]["image/png"],
                        "text/plain": bounded(_text(out["data"]["text/plain"]), 200),
                    },
                }
            )
        elif kind == "execute_result" and isinstance(out.get("data"), dict) and set(out["data"]) == {"text/plain"}:
            kept.append(
                {
                    "output_type": "execute_result",
                    "execution_count": None,
                    "metadata": {},
                    "data": {"text/plain": bounded(_text(out["data"]["text/plain"]), 100)},
                }
            )
    return kept


def sanitize_notebook(nb: Any, keep_text_outputs: bool = False, *, trusted: frozenset[str]) -> Any:
    """Make a notebook safe to render, in place (see the module's docstring); returns it.

    keep_text_outputs: keep the outputs the judge writes (stdout, a plain-text score) and drop the
    rest; by default every code cell's outputs are dropped (the judge writes its own afterwards).
    trusted: the markdown and raw texts shown as they are (trusted_texts(assignment): the kit's own
    notebooks' of the assignment)."""
    meta = nb.get("metadata") if isinstance(nb.get("metadata"), dict) else {}
    nb["metadata"] = {
        k: {kk: bounded(vv, 100) for kk, vv in v.items() if isinstance(vv, str)}
        for k, v in meta.items()
        if k in ("kernelspec", "language_info") and isinstance(v, dict)
    }
    seen_ids: set[str] = set()
    all_ids = {c.get("id") for c in nb["cells"]}
    for i, cell in enumerate(nb["cells"]):
        cell["metadata"] = _clean_metadata(cell.get("metadata"))
        cid = cell.get("id")
        if cid is not None:
            if not (isinstance(cid, str) and SAFE_NAME.match(cid)) or cid in seen_ids:
                cid, n = f"cell-{i}", i  # deterministic (a rerun writes the same notebook), unique
                while cid in seen_ids or cid in all_ids:
                    n += len(nb["cells"])
                    cid = f"cell-{n}"
                cell["id"] = cid
            seen_ids.add(cid)
        if cell.get("cell_type") == "code":
            cell["outputs"] = text_outputs(cell.get("outputs")) if keep_text_outputs else []
            cell.pop("attachments", None)
            continue
        text = _text(cell.get("source", ""))
        if cell.get("cell_type") == "markdown" and is_cleaned(text):
            cell.pop("attachments", None)
            continue
        if text in trusted:  # the assignment's own cell, with raster image attachments only
            if "attachments" in cell:
                cell["attachments"] = _raster_attachments(cell["attachments"])
            continue
        if cell.get("cell_type") == "markdown":
            cell["source"] = safe_markdown(text, cell.get("attachments"))
        else:  # raw (or unknown; exporters insert raw cells as they are): shown as preformatted text
            cell["cell_type"] = "markdown"
            cell["source"] = preformatted(text)
        cell.pop("attachments", None)
    if type(nb) is not dict:  # an nbformat NotebookNode (nbgrader) stays one all the way down
        from nbformat import from_dict

        nb.update(from_dict({"metadata": nb["metadata"], "cells": nb["cells"]}))  # type: ignore[no-untyped-call]
    return nb


def _raster_attachments(attachments: Any) -> dict[str, Any]:
    return {
        name: {m: d for m, d in bundle.items() if m in RASTER_TYPES and isinstance(d, str)}
        for name, bundle in (attachments.items() if isinstance(attachments, dict) else ())
        if isinstance(bundle, dict)
    }
