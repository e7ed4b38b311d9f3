"""The release, as the canonical notebook needs it (`Skeleton`): its cells, each answer's reference
names, the given code's names, the locked cells by their text; and a cell's source and grade_id."""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from ..course.assignment import GIVEN_PREFIX, Assignment
from .definitions import bound_names, definitions

CELL_ID = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")  # nbformat 4.5's cell id


def text(source: Any) -> str:
    """A cell's source as one string (nbformat allows a list of lines)."""
    return "".join(map(str, source)) if isinstance(source, list) else str(source)


def grade_id(cell: Any) -> str:
    meta = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell, dict) else {}
    gid = meta.get("grade_id", "") if isinstance(meta, dict) else ""
    return gid if isinstance(gid, str) else ""


@dataclass(frozen=True)
class Skeleton:
    """The release's cells and what identifies each answer, for one assignment."""

    release: dict[str, Any]
    anchors: dict[str, dict[str, Any]]  # grade_id -> the released nbgrader cell
    answers: dict[str, frozenset[str]]  # answer grade_id -> the names its reference binds
    split: frozenset[str]  # answers found statement by statement (classes); exercises: whole cells
    by_text: dict[tuple[str, str], str]  # (cell type, stripped text) of a locked cell -> grade_id
    ordinary: frozenset[tuple[str, str]]  # the release's cells without nbgrader metadata
    given: frozenset[str]  # names the given code binds
    ids: frozenset[str] = field(default=frozenset())  # every cell id of the release
    defined: frozenset[str] = field(default=frozenset())  # what the release's own code cells define


def skeleton(release: dict[str, Any], assignment: Assignment, source: dict[str, Any] | None = None) -> Skeleton:
    """The skeleton of a parsed release of `assignment`; `source` (the instructor's master, default
    the assignment's in source/) gives each answer's reference definitions and the given code's names."""
    rubric = assignment.rubric
    if source is None:
        source = _source(assignment)
    src_cells = {grade_id(c): text(c.get("source", "")) for c in source["cells"] if grade_id(c)}
    anchors = {grade_id(c): c for c in release["cells"] if grade_id(c)}
    answers, split = {}, set()
    for part in rubric.parts.values():
        if not part.answer_cell:
            continue
        answers[part.answer_cell] = frozenset(bound_of(src_cells.get(part.answer_cell, "")))
        if part.kind != "exercise":
            split.add(part.answer_cell)
    given = frozenset().union(*(bound_of(s) for g, s in src_cells.items() if g.startswith(GIVEN_PREFIX)))
    by_text = {
        (c.get("cell_type", ""), text(c.get("source", "")).strip()): gid
        for gid, c in anchors.items()
        if gid not in answers
    }
    ordinary = frozenset(
        (c.get("cell_type", ""), text(c.get("source", ""))) for c in release["cells"] if not grade_id(c)
    )
    ids = frozenset(c["id"] for c in release["cells"] if isinstance(c.get("id"), str))
    defined = frozenset(definitions(src, given) for kind, src in ordinary if kind == "code")
    return Skeleton(release, anchors, answers, frozenset(split), by_text, ordinary, given, ids, defined)


def bound_of(source: str) -> set[str]:
    try:
        return set().union(*(bound_names(n) for n in ast.parse(source).body))
    except (SyntaxError, ValueError):
        return set()


@cache
def _source(assignment: Assignment) -> dict[str, Any]:
    return json.loads(assignment.source().read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@cache
def _skeleton_of(path: str, mtime_ns: int, assignment: Assignment) -> Skeleton:
    return skeleton(json.loads(Path(path).read_text(encoding="utf-8")), assignment)


def skeleton_of(release_path: Path, assignment: Assignment) -> Skeleton:
    """The skeleton of a release file of `assignment`, parsed once per process and version of the file."""
    return _skeleton_of(str(release_path), release_path.stat().st_mtime_ns, assignment)
