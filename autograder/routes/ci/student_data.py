"""The data the student's `check_submission.py` compares a notebook with (written into release/).

Only what a student already has: the release notebook's nbgrader metadata, cell ids, hashes of the
locked and test cells' released sources, and the rubric's part titles and points (the notebook's
points table shows them). No grader, no hidden test, no expected value.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ...course.assignment import Rubric

DATA_NAME = "check_submission_data.json"
KEPT_META = ("grade_id", "grade", "solution", "locked", "points", "schema_version")


def cell_text(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def check_data(release_nb: Path, rubric: Rubric) -> dict[str, Any]:
    nb = json.loads(release_nb.read_text(encoding="utf-8"))
    cells = []
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader")
        if not meta:
            continue
        entry: dict[str, Any] = {
            "grade_id": meta["grade_id"],
            "id": cell.get("id"),
            "cell_type": cell["cell_type"],
            "nbgrader": {k: meta[k] for k in KEPT_META if k in meta},
        }
        if meta.get("locked") or meta.get("grade"):
            entry["source_sha256"] = hashlib.sha256(cell_text(cell).encode("utf-8")).hexdigest()
        cells.append(entry)
    parts = [
        {"test_cell": p.test_cell, "answer_cell": p.answer_cell, "title": p.title, "points": p.points}
        for p in rubric.parts.values()
    ]
    return {"format": 1, "notebook": release_nb.name, "cells": cells, "parts": parts}


def write_check_data(release_dir: Path, rubric: Rubric) -> Path:
    out = release_dir / DATA_NAME
    data = check_data(release_dir / f"{rubric.notebook}.ipynb", rubric)
    out.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return out
