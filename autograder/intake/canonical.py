"""The canonical notebook: what the student wrote, laid on the released skeleton.

Every route grades, shows and records this notebook, never the student's JSON (autograder.intake.read
reads that once, bounded, and calls `canonical`). It is the release's nbgrader cells in the
release's order, with the student's code in the answer cells and the student's other cells
between them where the student put them:

- a part's answer is found by its nbgrader grade_id, else (metadata lost, changed, or a cell
  made anew) by what the code defines: the names the part's reference answer binds in source/
  (`class Linear`, the exercise's `model_81`, ...). A cell that defines several parts (answers
  merged into one cell) is split by definition, each top-level statement going to the part it
  defines (the statements between go with the next definition). A part defined in several cells
  gets all of them, in the student's order: what "Run All" leaves defined is what is graded;
- locked cells (given code, visible tests, locked text) always come from the release, found by
  grade_id or, where metadata was lost, by their unchanged text; a deleted one is put back;
- every other cell of the student's (their own helper cells, the notebook's ordinary cells) is
  kept in place. In grading, only the definitions of such a code cell run (`definitions`):
  imports, functions, classes and constants; a call, a plot or a print does not run, and neither
  does a statement that rebinds a name of the given code;
- markdown the release does not have verbatim is bounded in number and in total size; outputs,
  attachments and unknown metadata are dropped; cell ids are the release's or valid new ones.

Each recovery or repair is said to the student in a note (Japanese).

In steps: what a statement defines (definitions.py), the release as a Skeleton (skeleton.py), the
student's cells matched to it as units (matching.py), and here the notebook rebuilt from them with
its notes.
"""

from __future__ import annotations

import json
from typing import Any

from . import messages as say
from .definitions import definitions
from .matching import Reading, Unit, read_cells
from .skeleton import CELL_ID, Skeleton, grade_id, text

MAX_CELLS = 2_000  # cells in a submission; a real one has about 60
MAX_CODE_CHARS = 1_000_000  # all the student's code together; a complete answer is about 10,000
MAX_MARKDOWN_CELLS = 40  # student markdown cells kept (the release's own text is not counted)
MAX_MARKDOWN_CHARS = 40_000  # ... and their characters together
MEMO_ID = "nb74-memo"  # the id of the kit's note cell (autograder.intake.read.add_memo): never a student's


class CanonicalError(ValueError):
    """The submission cannot be laid on the release (too large); the message is for the student."""


def canonical(nb: dict[str, Any], sk: Skeleton) -> tuple[dict[str, Any], list[str]]:
    """The canonical notebook of a parsed submission (nbformat 4, any minor) and the notes for the
    student. Raises CanonicalError when it is too large to grade."""
    if len(nb["cells"]) > MAX_CELLS:
        raise CanonicalError(say.too_many_cells(len(nb["cells"]), MAX_CELLS))
    r = read_cells(nb, sk)
    code = sum(len(u.source) for u in r.units if u.kind in ("answer", "code"))
    if code > MAX_CODE_CHARS:
        raise CanonicalError(say.code_too_long(code, MAX_CODE_CHARS))
    notes = list(dict.fromkeys(r.notes))
    units, dropped = _bounded_markdown(r.units, sk)

    # each unit of the student's own goes before the next released cell that follows it
    before: dict[str, list[Unit]] = {}
    waiting: list[Unit] = []
    answers: dict[str, list[str]] = {}
    for u in units:
        if u.kind in ("anchor", "answer"):
            before.setdefault(u.gid, []).extend(waiting)
            waiting = []
            if u.kind == "answer":
                answers.setdefault(u.gid, []).append(u.source)
        else:
            waiting.append(u)
    cells: list[dict[str, Any]] = []
    ids = set(sk.ids) | {MEMO_ID}
    missing_answers, restored = [], []
    for rc in sk.release["cells"]:
        gid = grade_id(rc)
        if not gid:
            continue  # the release's ordinary cells are the student's (kept in their place, or deleted)
        cells += [_own(u, ids, len(cells)) for u in before.pop(gid, [])]
        cell = json.loads(json.dumps(rc))
        cell["source"] = text(cell.get("source", ""))
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
        if gid in sk.answers:
            if gid in answers:  # one cell: as written; several: in the student's order
                got = answers[gid]
                cell["source"] = got[0] if len(got) == 1 else "\n\n".join(s.rstrip("\n") for s in got) + "\n"
            else:
                missing_answers.append(gid)
        elif gid not in r.seen:
            restored.append(gid)
        cells.append(cell)
    cells += [_own(u, ids, len(cells)) for rest in before.values() for u in rest]
    cells += [_own(u, ids, len(cells)) for u in waiting]

    notes += _notes(r, sk, missing_answers, restored, units, dropped)
    out = {
        "cells": cells,
        "metadata": json.loads(json.dumps(sk.release.get("metadata", {}))),
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return out, notes


def _bounded_markdown(units: list[Unit], sk: Skeleton) -> tuple[list[Unit], int]:
    kept, count, chars, dropped = [], 0, 0, 0
    for u in units:
        if u.kind == "markdown" and ("raw" if u.raw else "markdown", u.source) not in sk.ordinary:
            if count >= MAX_MARKDOWN_CELLS or chars + len(u.source) > MAX_MARKDOWN_CHARS:
                dropped += 1
                continue
            count, chars = count + 1, chars + len(u.source)
        kept.append(u)
    return kept, dropped


def _own(u: Unit, ids: set[str], position: int) -> dict[str, Any]:
    """A cell of the student's own: their text, no outputs or metadata, a valid unique id."""
    cid = u.cell_id if isinstance(u.cell_id, str) and CELL_ID.match(u.cell_id) and u.cell_id not in ids else None
    n = position
    while cid is None or cid in ids:
        cid, n = f"student-{n}", n + 1
    ids.add(cid)
    if u.kind == "code":
        return {
            "cell_type": "code",
            "execution_count": None,
            "id": cid,
            "metadata": {},
            "outputs": [],
            "source": u.source,
        }
    return {"cell_type": "raw" if u.raw else "markdown", "id": cid, "metadata": {}, "source": u.source}


def _notes(
    r: Reading, sk: Skeleton, missing: list[str], restored: list[str], units: list[Unit], dropped: int
) -> list[str]:
    notes = []
    if r.recovered:
        found = "、".join(
            f"{gid}（{say.NAMES_SEPARATOR.join(sorted(names)) or say.ANSWER}）" for gid, names in r.recovered.items()
        )
        notes.append(say.answers_recovered(found))
    for parts in r.merged:
        if len(parts) > 1:
            notes.append(say.answers_split("、".join(dict.fromkeys(parts))))
    for gid in missing:
        defines = "、".join(sorted(sk.answers[gid])) or gid
        notes.append(say.answer_missing(gid, defines))
    if r.by_text:
        notes.append(say.CELLS_FOUND_BY_CONTENT)
    order = {grade_id(c): i for i, c in enumerate(sk.release["cells"]) if grade_id(c)}
    placed = [order[u.gid] for u in units if u.kind in ("anchor", "answer") and not u.piece]
    if any(a > b for a, b in zip(placed, placed[1:])):
        notes.append(say.CELLS_REORDERED)
    if r.bad_ids:
        notes.append(say.bad_ids_replaced(r.bad_ids))
    if restored:
        notes.append(say.cells_restored("、".join(restored)))
    # said only of definitions the release's own cells do not make (an edited check cell still sets N = 4)
    if any((d := definitions(u.source, sk.given)).strip() and d not in sk.defined for u in units if u.kind == "code"):
        notes.append(say.OWN_DEFINITIONS_LOADED)
    if dropped:
        notes.append(say.markdown_dropped(MAX_MARKDOWN_CELLS, MAX_MARKDOWN_CHARS, dropped))
    return notes
