"""Build submissions for tests: the solution notebook with some answer cells replaced."""

from __future__ import annotations

import json
from pathlib import Path

from autograder.course.assignment import ROOT
from tests.nb74 import NB74

SOLUTION = ROOT / "solutions" / NB74.rubric.assignment / f"{NB74.rubric.notebook}.ipynb"
RELEASE = ROOT / "release" / NB74.rubric.assignment / f"{NB74.rubric.notebook}.ipynb"


def answer_source(grade_id: str, notebook: Path = SOLUTION) -> str:
    """The source of one cell (by nbgrader grade_id) of a notebook."""
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            src = cell["source"]
            return "".join(src) if isinstance(src, list) else src
    raise KeyError(grade_id)


def make_submission(path: Path, replace: dict[str, str] | None = None, base: Path = SOLUTION) -> Path:
    """Write `base` to `path` with the cells named in `replace` (grade_id -> source) replaced."""
    nb = json.loads(base.read_text(encoding="utf-8"))
    replace = dict(replace or {})
    for cell in nb["cells"]:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in replace:
            cell["source"] = replace.pop(gid)
    if replace:
        raise KeyError(f"no such cells: {sorted(replace)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, ensure_ascii=False, indent=1), encoding="utf-8")
    return path
