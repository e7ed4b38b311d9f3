"""A catalog entry, and how its source is made from the solution's answer cell."""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from autograder.course.assignment import assignment


@dataclass(frozen=True)
class Entry:
    name: str  # unique id
    part: str  # the rubric part it must lose points on (bugs) / belongs to (forms)
    cell: str  # grade_id of the replaced answer cell
    source: str  # the cell's complete new source
    note: str  # what the student did


def solution_notebook() -> Path:
    """The executed solution notebook (solutions/<assignment>/), which the entries are made from."""
    return assignment("nb74_matrix_backprop").solution()


def cell_sources(notebook: Path) -> dict[str, str]:
    """grade_id -> source of the notebook's nbgrader cells."""
    found = {}
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid:
            src = cell["source"]
            found[gid] = "".join(src) if isinstance(src, list) else src
    return found


@cache
def solution_cells() -> dict[str, str]:
    return cell_sources(solution_notebook())


def solution_cell(cell: str) -> str:
    return solution_cells()[cell]


def with_backward(cell: str, backward: str, forward_extra: str = "", replace: tuple[str, str] | None = None) -> str:
    """The solution's cell with its backward (the last method of the class) replaced.

    forward_extra: a line added at the start of forward (e.g. caching x as well);
    replace: (old, new) applied to the rest of the class (e.g. an edited forward line)."""
    src = solution_cell(cell)
    head = src[: src.index("    def backward(")]
    if forward_extra:
        i = head.index("    def forward(")
        j = head.index("\n", head.index(":", head.index(")", i))) + 1  # end of the def line
        head = head[:j] + "        " + forward_extra + "\n" + head[j:]
    if replace:
        if replace[0] not in head:
            raise ValueError(f"catalog: {replace[0]!r} is not in the solution's {cell} cell any more")
        head = head.replace(*replace)
    return head + textwrap.indent(textwrap.dedent(backward).strip("\n"), "    ") + "\n"


def bug(name: str, part: str, cell: str, note: str, backward: str = "", source: str = "", **kw: Any) -> Entry:
    return Entry(name, part, cell, source or with_backward(cell, backward, **kw), note)


def form(name: str, part: str, cell: str, note: str, backward: str = "", source: str = "", **kw: Any) -> Entry:
    return Entry(name, part, cell, source or with_backward(cell, backward, **kw), note)


CACHE_X = "self.cache['x'] = x"
