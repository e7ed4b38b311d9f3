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
"""

from __future__ import annotations

import ast
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from ..course.assignment import GIVEN_PREFIX, load_rubric, source_notebook

MAX_CELLS = 2_000  # cells in a submission; a real one has about 60
MAX_CODE_CHARS = 1_000_000  # all the student's code together; a complete answer is about 10,000
MAX_MARKDOWN_CELLS = 40  # student markdown cells kept (the release's own text is not counted)
MAX_MARKDOWN_CHARS = 40_000  # ... and their characters together
CELL_ID = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")  # nbformat 4.5's cell id
MEMO_ID = "nb74-memo"  # the id of the kit's note cell (autograder.intake.read.add_memo): never a student's
CLASS_LINE = re.compile(r"^class\s+([A-Za-z_]\w*)", re.MULTILINE)


class CanonicalError(ValueError):
    """The submission cannot be laid on the release (too large); the message is for the student."""


def text(source: Any) -> str:
    """A cell's source as one string (nbformat allows a list of lines)."""
    return "".join(map(str, source)) if isinstance(source, list) else str(source)


def grade_id(cell: Any) -> str:
    meta = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell, dict) else {}
    gid = meta.get("grade_id", "") if isinstance(meta, dict) else ""
    return gid if isinstance(gid, str) else ""


GRADING_KEYS = ("grade", "solution", "locked", "task", "points")  # what nbgrader grades by
_CONFUSABLES = str.maketrans("асеіјорѕхуԁһӏ", "aceijopsxydhl")


def looks_like(gid: str, released: Iterable[str]) -> str | None:
    """The released grade_id that `gid` imitates (width, case, zero-width or Cyrillic letters)."""
    folded = unicodedata.normalize("NFKC", gid).casefold()
    folded = "".join(ch for ch in folded if unicodedata.category(ch) not in ("Cf", "Mn", "Zs"))
    folded = folded.translate(_CONFUSABLES)
    return next((real for real in released if folded == real.casefold()), None)


# -- what a statement defines ------------------------------------------------------------------------


def bound_names(node: ast.stmt) -> set[str]:
    """The names a top-level statement binds in the module's namespace."""
    names: set[str] = set()
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        names.add(node.name)
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        names |= {(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"}
    elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for t in targets:
            names |= {n.id for n in ast.walk(t) if isinstance(n, ast.Name)}
    elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                names |= bound_names(child)
        if isinstance(node, ast.Try):
            for handler in node.handlers:
                for child in handler.body:
                    names |= bound_names(child)
    return names


def _constant(value: ast.expr) -> bool:
    """A literal, or arithmetic on literals (EPS = 1e-8, SHAPE = (4, 3), H = 2 ** -20)."""
    if isinstance(value, ast.Constant):
        return True
    if isinstance(value, (ast.Tuple, ast.List, ast.Set)):
        return all(_constant(e) for e in value.elts)
    if isinstance(value, ast.Dict):
        return all(k is not None and _constant(k) for k in value.keys) and all(_constant(v) for v in value.values)
    if isinstance(value, ast.UnaryOp):
        return _constant(value.operand)
    if isinstance(value, ast.BinOp):
        return _constant(value.left) and _constant(value.right)
    return False


def is_definition(node: ast.stmt) -> bool:
    """What a student's own cell may contribute to grading: imports, functions, classes, constants."""
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, ast.Assign):
        return all(isinstance(t, ast.Name) for t in node.targets) and _constant(node.value)
    if isinstance(node, ast.AnnAssign):
        return isinstance(node.target, ast.Name) and node.value is not None and _constant(node.value)
    return False


def _first_line(node: ast.stmt) -> int:
    decorators: list[ast.expr] = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)])


def _segment(lines: list[str], nodes: Iterable[ast.stmt]) -> str:
    """The source lines of these statements, in order (decorators included)."""
    return "".join("".join(lines[_first_line(n) - 1 : n.end_lineno or n.lineno]) for n in nodes)


def definitions(source: str, given: frozenset[str] = frozenset()) -> str:
    """The part of a student's own code cell that runs in grading: its definitions, in order,
    except those that rebind a name of the given code (imports of it are harmless: left out too).
    A cell that does not parse contributes nothing (it did not run in the student's notebook either)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return ""
    lines = source.splitlines(keepends=True)
    kept = [n for n in tree.body if is_definition(n) and not bound_names(n) & given]
    return _segment(lines, kept)


# -- the release, as the canonical notebook needs it -----------------------------------------------


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


def skeleton(release: dict[str, Any], source: dict[str, Any] | None = None) -> Skeleton:
    """The skeleton of a parsed release; `source` (the instructor's master, default source/) gives
    each answer's reference definitions and the given code's names."""
    rubric = load_rubric()
    if source is None:
        source = _source()
    src_cells = {grade_id(c): text(c.get("source", "")) for c in source["cells"] if grade_id(c)}
    anchors = {grade_id(c): c for c in release["cells"] if grade_id(c)}
    answers, split = {}, set()
    for part in rubric.parts.values():
        if not part.answer_cell:
            continue
        answers[part.answer_cell] = frozenset(_bound(src_cells.get(part.answer_cell, "")))
        if part.kind != "exercise":
            split.add(part.answer_cell)
    given = frozenset().union(*(_bound(s) for g, s in src_cells.items() if g.startswith(GIVEN_PREFIX)))
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


def _bound(source: str) -> set[str]:
    try:
        return set().union(*(bound_names(n) for n in ast.parse(source).body))
    except (SyntaxError, ValueError):
        return set()


@cache
def _source() -> dict[str, Any]:
    return json.loads(source_notebook().read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@cache
def _skeleton_of(path: str, mtime_ns: int) -> Skeleton:
    return skeleton(json.loads(Path(path).read_text(encoding="utf-8")))


def skeleton_of(release_path: Path) -> Skeleton:
    """The skeleton of a release file, parsed once per process and version of the file."""
    return _skeleton_of(str(release_path), release_path.stat().st_mtime_ns)


# -- the student's notebook as units ---------------------------------------------------------------


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
class _Reading:
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


def _code(r: _Reading, sk: Skeleton, src: str, cell_id: Any, meta_part: str | None) -> None:
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


def _read_cells(nb: dict[str, Any], sk: Skeleton) -> _Reading:
    r = _Reading()
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
                r.notes.append(f"grade_id「{gid}」のセルの種類が配布時と違うため、内容から判断しました")
            else:
                like = looks_like(gid, sk.anchors)
                hint = f"（「{like}」に似ていますが別の名前です）" if like else ""
                r.notes.append(
                    f"grade_id「{ascii(gid)[1:-1]}」は配布ノートブックにないため、その名前では採点対象にしませんでした{hint}"
                )
            gid, released = "", None
        if released is not None:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            want = released["metadata"]["nbgrader"]
            if any(meta.get(k) != want.get(k) for k in GRADING_KEYS):
                r.notes.append(
                    f"grade_id「{gid}」のセルの nbgrader 設定（配点など）が配布時と違うため、配布時の設定に戻しました"
                )
            if gid in sk.answers:
                if gid in r.seen:
                    r.notes.append(
                        f"grade_id「{gid}」のセルが複数あったため、上から順にすべて実行した結果を採点しました"
                    )
                r.seen.add(gid)
                _code(r, sk, src, cell_id, gid)
            elif gid not in r.seen:
                r.seen.add(gid)
                r.units.append(Unit("anchor", gid))
            else:
                r.notes.append(f"grade_id「{gid}」のセルが複数あったため、最初のセルだけを残しました")
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
                r.recovered.setdefault(meta_part, set()).update(sk.answers[meta_part] & _bound(src))
            _code(r, sk, src, cell_id, meta_part)
        else:  # markdown, or raw (kept raw: the feedback shows it as text)
            r.units.append(Unit("markdown", source=src, cell_id=cell_id, raw=ctype != "markdown"))
    return r


# -- the canonical notebook ---------------------------------------------------------------------------


def canonical(nb: dict[str, Any], sk: Skeleton) -> tuple[dict[str, Any], list[str]]:
    """The canonical notebook of a parsed submission (nbformat 4, any minor) and the notes for the
    student. Raises CanonicalError when it is too large to grade."""
    if len(nb["cells"]) > MAX_CELLS:
        raise CanonicalError(f"セルが多すぎるため採点できません（{len(nb['cells'])} 個、上限 {MAX_CELLS} 個）")
    r = _read_cells(nb, sk)
    code = sum(len(u.source) for u in r.units if u.kind in ("answer", "code"))
    if code > MAX_CODE_CHARS:
        raise CanonicalError(f"コードが長すぎるため採点できません（{code:,} 文字、上限 {MAX_CODE_CHARS:,} 文字）")
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
    r: _Reading, sk: Skeleton, missing: list[str], restored: list[str], units: list[Unit], dropped: int
) -> list[str]:
    notes = []
    if r.recovered:
        found = "、".join(f"{gid}（{'・'.join(sorted(names)) or '解答'}）" for gid, names in r.recovered.items())
        notes.append(
            f"解答セルの目印（nbgrader の grade_id）で見つからなかった解答を、セルの ID やクラス・変数の定義から見つけて採点しました: {found}"
        )
    for parts in r.merged:
        if len(parts) > 1:
            notes.append(
                f"1 つのセルに複数の解答（{'、'.join(dict.fromkeys(parts))}）があったため、定義ごとに分けて採点しました"
            )
    for gid in missing:
        defines = "、".join(sorted(sk.answers[gid])) or gid
        notes.append(
            f"解答セル「{gid}」が提出ノートブックに見つかりません（{defines} の定義もありません）。配布時のまま採点しました"
        )
    if r.by_text:
        notes.append("nbgrader のセル情報が失われていたため、配布時のセルを内容から見つけて採点しました")
    order = {grade_id(c): i for i, c in enumerate(sk.release["cells"]) if grade_id(c)}
    placed = [order[u.gid] for u in units if u.kind in ("anchor", "answer") and not u.piece]
    if any(a > b for a, b in zip(placed, placed[1:])):
        notes.append("採点するセルの順番が配布時と違ったため、配布時の順に並べ直して採点しました")
    if r.bad_ids:
        notes.append(f"セル ID が不正または重複していたセル（{r.bad_ids} 個）に、新しい ID を付けました")
    if restored:
        notes.append(f"削除されていた配布時のセル（{'、'.join(restored)}）を配布時の内容で戻しました")
    # said only of definitions the release's own cells do not make (an edited check cell still sets N = 4)
    if any((d := definitions(u.source, sk.given)).strip() and d not in sk.defined for u in units if u.kind == "code"):
        notes.append(
            "追加・変更したコードセルのうち、関数・クラス・import・定数の定義も採点で読み込みました（それ以外の文は採点では実行しません）"
        )
    if dropped:
        notes.append(
            f"マークダウンセルが多すぎる・長すぎるため（上限 {MAX_MARKDOWN_CELLS} 個・合計 {MAX_MARKDOWN_CHARS:,} 文字）、"
            f"{dropped} 個を採点用のノートブックから除きました"
        )
    return notes
