"""Matching the student's cells to the release's: each cell of the submission becomes units in the
student's order (a released locked cell, an answer, several answers split by definition, a cell of
their own, markdown), with what was recovered or repaired on the way (see canonical.py's docstring).
"""

from __future__ import annotations

import ast
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from . import messages as say
from .definitions import bound_names
from .skeleton import CELL_ID, Skeleton, bound_of, grade_id, text

CLASS_LINE = re.compile(r"^class\s+([A-Za-z_]\w*)", re.MULTILINE)
GRADING_KEYS = ("grade", "solution", "locked", "task", "points")  # what nbgrader grades by
_CONFUSABLES = str.maketrans("асеіјорѕхуԁһӏ", "aceijopsxydhl")


def looks_like(gid: str, released: Iterable[str]) -> str | None:
    """The released grade_id that `gid` imitates (width, case, zero-width or Cyrillic letters)."""
    folded = unicodedata.normalize("NFKC", gid).casefold()
    folded = "".join(ch for ch in folded if unicodedata.category(ch) not in ("Cf", "Mn", "Zs"))
    folded = folded.translate(_CONFUSABLES)
    return next((real for real in released if folded == real.casefold()), None)


@dataclass
class Unit:
    """One piece of the student's notebook, in the student's order."""

    kind: str  # "anchor" (a released nbgrader cell), "answer", "code" (the student's own), "markdown"
    gid: str = ""  # anchor and answer
    source: str = ""
    cell_id: Any = None  # the student's cell id, kept for their own cells when valid
    raw: bool = False  # a text cell of type raw (or unknown), not markdown
    piece: bool = False  # an answer split out of a cell that held several (its order is the cell's)


@dataclass
class Reading:
    units: list[Unit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    recovered: dict[str, set[str]] = field(default_factory=dict)  # answer gid -> names that found it
    merged: list[list[str]] = field(default_factory=list)  # the parts of each split cell
    by_text: int = 0  # locked cells recognised by their text
    bad_ids: int = 0  # student cells whose id nbformat 4.5 does not allow, or a second use of one
    seen: set[str] = field(default_factory=set)


def _parts_of(stmts: list[ast.stmt], sk: Skeleton) -> list[str | None]:
    owners: list[str | None] = []
    for node in stmts:
        names = bound_names(node)
        owner = next((gid for gid, sig in sk.answers.items() if names & sig), None)
        owners.append(owner)
    return owners


def _code(r: Reading, sk: Skeleton, src: str, cell_id: Any, meta_part: str | None) -> None:
    """A student code cell that is not a released locked cell: an answer, several, or their own."""
    try:
        tree = ast.parse(src)
    except (SyntaxError, ValueError):
        # it cannot be split: the part it names (by metadata, else by a `class X` line) reports the error
        named = [g for g in sk.split if sk.answers[g] & set(CLASS_LINE.findall(src))]
        target = meta_part or (named[0] if named else None)
        if target is None:
            r.units.append(Unit("code", source=src, cell_id=cell_id))
            return
        if meta_part is None:
            r.recovered.setdefault(target, set()).update(sk.answers[target] & set(CLASS_LINE.findall(src)))
        r.units.append(Unit("answer", target, src))
        return
    owners = _parts_of(tree.body, sk)
    found = {o for o in owners if o is not None}
    if not found - {meta_part}:  # nothing of another part: the cell as it is
        r.units.append(Unit("answer", meta_part, src) if meta_part else Unit("code", source=src, cell_id=cell_id))
        return
    if meta_part is None and len(found) == 1:  # one part's answer, its metadata lost: the cell as it is
        (gid,) = found
        r.recovered.setdefault(gid, set()).update(sk.answers[gid] & set().union(*map(bound_names, tree.body)))
        r.units.append(Unit("answer", gid, src))
        return
    # several parts in one cell: each statement to the part it defines, those between with the next
    pieces: list[tuple[str, list[ast.stmt]]] = []
    pending: list[ast.stmt] = []
    for node, owner in zip(tree.body, owners):
        pending.append(node)
        if owner is None:
            continue
        if pieces and pieces[-1][0] == owner:
            pieces[-1][1].extend(pending)
        else:
            pieces.append((owner, pending))
        pending = []
    pieces[-1][1].extend(pending)  # after the last definition: with it
    r.merged.append([gid for gid, _ in pieces])
    lines = src.splitlines(keepends=True)
    start = 0
    for i, (gid, nodes) in enumerate(pieces):
        end = len(lines) if i == len(pieces) - 1 else (nodes[-1].end_lineno or nodes[-1].lineno)
        if gid != meta_part:
            r.recovered.setdefault(gid, set()).update(sk.answers[gid] & set().union(*map(bound_names, nodes)))
        r.units.append(Unit("answer", gid, "".join(lines[start:end]), piece=True))  # comments go with what follows
        start = end


def read_cells(nb: dict[str, Any], sk: Skeleton) -> Reading:
    r = Reading()
    answer_ids = {c.get("id"): gid for gid, c in sk.anchors.items() if gid in sk.answers and c.get("id")}
    ids_seen: set[Any] = set()
    for cell in nb["cells"]:
        ctype, src, cell_id = cell.get("cell_type"), text(cell.get("source", "")), cell.get("id")
        if "id" in cell and (not isinstance(cell_id, str) or not CELL_ID.match(cell_id) or cell_id in ids_seen):
            r.bad_ids += 1
        ids_seen.add(cell_id if isinstance(cell_id, str) else None)
        gid = grade_id(cell)
        released = sk.anchors.get(gid)
        if gid and (released is None or released.get("cell_type") != ctype):
            if released is not None:
                r.notes.append(say.cell_type_changed(gid))
            else:
                like = looks_like(gid, sk.anchors)
                hint = say.looks_like(like) if like else ""
                r.notes.append(say.unknown_grade_id(ascii(gid)[1:-1], hint))
            gid, released = "", None
        if released is not None:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            want = released["metadata"]["nbgrader"]
            if any(meta.get(k) != want.get(k) for k in GRADING_KEYS):
                r.notes.append(say.grading_settings_restored(gid))
            if gid in sk.answers:
                if gid in r.seen:
                    r.notes.append(say.answer_repeated(gid))
                r.seen.add(gid)
                _code(r, sk, src, cell_id, gid)
            elif gid not in r.seen:
                r.seen.add(gid)
                r.units.append(Unit("anchor", gid))
            else:
                r.notes.append(say.cell_repeated(gid))
            continue
        locked = sk.by_text.get((str(ctype), src.strip()))
        if locked is not None:  # a released locked cell without its metadata
            if locked not in r.seen:
                r.seen.add(locked)
                r.by_text += 1
                r.units.append(Unit("anchor", locked))
            continue
        if ctype == "code":
            meta_part = answer_ids.get(cell_id) if cell_id not in (None, "") else None
            if meta_part is not None:  # the released answer cell by its id, its grade_id lost or changed
                r.recovered.setdefault(meta_part, set()).update(sk.answers[meta_part] & bound_of(src))
            _code(r, sk, src, cell_id, meta_part)
        else:  # markdown, or raw (kept raw: the feedback shows it as text)
            r.units.append(Unit("markdown", source=src, cell_id=cell_id, raw=ctype != "markdown"))
    return r
