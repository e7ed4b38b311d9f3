"""Reading what a student handed in, one way for every route (batch, nbgrader, one-shot grade).

Only regular files are read, never through a symbolic link (a link to source/ or to the solution
would otherwise be graded, and shown in the feedback, as the student's work). A notebook must be
strict UTF-8 JSON of bounded size and nesting; a lone surrogate is replaced (it cannot be written
back as UTF-8). Everything refused raises SubmissionError with a message for the student.

`take_in` is what every route calls: the file read as above, then laid on the release as the
canonical notebook (autograder.intake.canonical), so every route grades the same cells and gives the same
notes, and nothing downstream sees the student's JSON.

Bounds before anything costly: bytes (MAX_NOTEBOOK_BYTES), nesting (MAX_DEPTH) and JSON values
(MAX_NODES, counted on the bytes before parsing: a 50 MB `[{}, {}, ...]` parses to gigabytes).
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from . import messages as say
from .canonical import MEMO_ID, CanonicalError, canonical
from .messages import MEMO_TITLE
from .skeleton import Skeleton, skeleton_of
from .skeleton import grade_id as grade_id

if TYPE_CHECKING:
    from ..course.assignment import Assignment

MAX_NOTEBOOK_BYTES = 256 << 20  # above the largest real submission seen (a 200 MB output)
MAX_SMALL_BYTES = 4096  # timestamp.txt, the collect notes
MAX_DEPTH = 64  # JSON nesting; a real notebook stays below 20
MAX_NODES = 1_000_000  # JSON values; the solution has 2,500, a 100,000-line printed output 100,000
NOTES_FILE = "nb74_intake_notes.txt"  # written by the kit's `nbgrader collect`: what it refused


class SubmissionError(Exception):
    """The file is not a notebook we can read; the message is for the student (Japanese)."""


def shown(name: str) -> str:
    """A file name as text we can store and print: undecodable bytes become U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def link_refused(name: str) -> str:
    return say.link_refused(shown(name))


def _open_regular(path: Path, under: Path | None) -> int:
    """A file descriptor of `path`, refusing a link as the file itself or, below `under`, as any
    folder on the way (each step opened relative to the last, so nothing can be swapped in)."""
    path = Path(path)
    if under is not None:
        try:
            parts = path.relative_to(under).parts
        except ValueError:
            under, parts = None, ()
    base = os.open(under if under is not None else path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        steps = parts[:-1] if under is not None else ()
        for step in steps:
            try:
                nxt = os.open(step, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=base)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise SubmissionError(say.folder_not_regular(shown(step))) from None
                raise SubmissionError(say.file_missing(shown(path.name))) from None
            os.close(base)
            base = nxt
        try:
            fd = os.open(path.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=base)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise SubmissionError(link_refused(path.name)) from None
            raise SubmissionError(say.file_missing(shown(path.name))) from None
    finally:
        os.close(base)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise SubmissionError(say.file_not_regular(shown(path.name)))
    return fd


def open_regular(path: Path, under: Path | None = None) -> Any:
    """A binary file object of a regular file, never opened through a link (see _open_regular)."""
    return os.fdopen(_open_regular(path, under), "rb")


def read_regular(path: Path, limit: int, under: Path | None = None) -> bytes:
    """The bytes of a regular file (never through a link), at most `limit` of them."""
    fd = _open_regular(path, under)
    with os.fdopen(fd, "rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        data = b"" if size > limit else f.read(size + 1)  # +1: a file that grew since fstat
    if size > limit or len(data) > size:
        raise SubmissionError(say.file_too_big(shown(Path(path).name), limit >> 20))
    return data


def read_text(path: Path, under: Path | None = None, limit: int = MAX_SMALL_BYTES) -> str:
    """A small text file (timestamp.txt, notes): strict UTF-8, regular file only."""
    try:
        return read_regular(path, limit, under).decode("utf-8")
    except UnicodeDecodeError:
        raise SubmissionError(say.text_not_utf8(shown(Path(path).name))) from None


@dataclass
class Intake:
    notebook: dict[str, Any]
    notes: list[str] = field(default_factory=list)


_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LONE = re.compile("[\ud800-\udfff]")


def read_notebook(path: Path, under: Path | None = None) -> Intake:
    """The submitted notebook, checked: see the module's docstring."""
    name = shown(Path(path).name)
    raw = read_regular(path, MAX_NOTEBOOK_BYTES, under)
    has_escapes = _SURROGATE.search(raw) is not None
    nodes = json_values(raw)
    if nodes > MAX_NODES:
        raise SubmissionError(say.too_many_nodes(name, nodes, MAX_NODES))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SubmissionError(say.notebook_not_utf8(name)) from None
    del raw  # a 200 MB notebook: keep at most two copies alive
    nb = _parse(text, name)
    del text
    notes = []
    check_structure(nb, name)
    if has_escapes and _replace_surrogates(nb):
        notes.append(say.surrogates_replaced(name))
    return Intake(nb, notes)


_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')


def json_values(raw: bytes) -> int:
    """An upper bound of the values a JSON text parses to, counted without parsing it: every value
    but the first follows a comma or opens a container (strings are taken out first, so commas in
    text do not count). Linear in the bytes, a few MB of memory beyond them."""
    bare = _STRING.sub(b"", raw)
    return bare.count(b",") + bare.count(b"[") + bare.count(b"{") + 1


def _parse(text: str, name: str) -> dict[str, Any]:
    try:
        nb = json.loads(text)
    except RecursionError:
        raise SubmissionError(say.nested_too_deep(name)) from None
    except ValueError:
        raise SubmissionError(say.not_json(name)) from None
    if depth_exceeds(nb, MAX_DEPTH):
        raise SubmissionError(say.nested_too_deep(name, MAX_DEPTH))
    if not (isinstance(nb, dict) and nb.get("nbformat") == 4 and isinstance(nb.get("cells"), list)):
        import nbformat  # older formats: nbformat converts them (a slow import: only here)

        try:
            nb = nbformat.reads(text, as_version=4)  # type: ignore[no-untyped-call]
        except Exception as exc:  # unknown or broken nbformat
            raise SubmissionError(say.not_a_notebook(name, type(exc).__name__)) from None
    if not isinstance(nb.get("cells"), list):
        raise SubmissionError(say.no_cells(name))
    return cast(dict[str, Any], nb)


def depth_exceeds(value: Any, limit: int) -> bool:
    """Whether containers nest deeper than `limit` (iterative: no recursion on hostile input)."""
    stack = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        v, d = stack.pop()
        if d > limit:
            return True
        for c in v.values() if type(v) is dict else v:
            if type(c) is dict or type(c) is list:
                stack.append((c, d + 1))
    return False


def check_structure(nb: dict[str, Any], name: str) -> None:
    """What every route relies on: each cell a dict with a type, a dict of metadata and text."""
    if not isinstance(nb.get("metadata", {}), dict):
        raise SubmissionError(say.broken_metadata(name))
    for i, cell in enumerate(nb["cells"], 1):
        src = cell.get("source", "") if isinstance(cell, dict) else None
        ok = (
            isinstance(cell, dict)
            and isinstance(cell.get("cell_type"), str)
            and isinstance(cell.get("metadata", {}), dict)
            and isinstance(cell.get("metadata", {}).get("nbgrader", {}), dict)
            and (isinstance(src, str) or isinstance(src, list) and all(isinstance(s, str) for s in src))
        )
        if not ok:
            raise SubmissionError(say.broken_cell(name, i))


def _replace_surrogates(value: Any) -> bool:
    """Replace lone surrogates (json.loads keeps them; UTF-8 cannot write them) in place."""
    changed = False
    stack = [value]
    while stack:
        v = stack.pop()
        items = list(v.items()) if isinstance(v, dict) else list(enumerate(v)) if isinstance(v, list) else []
        for k, c in items:
            if isinstance(k, str) and _LONE.search(k):
                del v[k]
                k, changed = _LONE.sub("\ufffd", k), True
                v[k] = c
            if isinstance(c, str):
                if _LONE.search(c):
                    v[k], changed = _LONE.sub("\ufffd", c), True
            elif isinstance(c, (dict, list)):
                stack.append(c)
    return changed


# -- the notebook every route grades ------------------------------------------------------------------


def take_in(path: Path, sk: Skeleton, under: Path | None = None) -> Intake:
    """The canonical notebook of a submitted file (autograder.intake.canonical) and the notes for the
    student: the one way every route reads a submission. Raises SubmissionError if refused."""
    got = read_notebook(path, under)
    try:
        nb, notes = canonical(got.notebook, sk)
    except CanonicalError as exc:
        raise SubmissionError(str(exc)) from None
    return Intake(nb, got.notes + notes)


def release_skeleton(assignment: Assignment) -> Skeleton:
    """The skeleton of the assignment's release in this kit (release/<assignment>/<notebook>.ipynb)."""
    return skeleton_of(assignment.release(), assignment)


MAX_MEMO_LINES = 20


def add_memo(nb: dict[str, Any], messages: list[str]) -> None:
    """Submission-level messages as the notebook's first cell, so the feedback shows them first."""
    if messages:
        from ..course.plain_text import bounded, markdown_escape  # they quote file names and exceptions

        text = MEMO_TITLE + "\n\n" + "\n".join(f"- {markdown_escape(bounded(m))}" for m in messages[:MAX_MEMO_LINES])
        cell = {"cell_type": "markdown", "metadata": {}, "source": text}
        if nb.get("nbformat_minor", 0) >= 5:  # cell ids exist (and are required) from nbformat 4.5
            cell["id"] = MEMO_ID
        if type(nb) is not dict:  # an nbformat NotebookNode (nbgrader's): its cells are nodes too
            import nbformat

            cell = nbformat.from_dict(cell)  # type: ignore[no-untyped-call]
        nb["cells"].insert(0, cell)


def collect_notes(folder: Path, under: Path | None = None) -> list[str]:
    """What the kit's `nbgrader collect` refused in this submission (one line each)."""
    path = Path(folder) / NOTES_FILE
    try:
        return [ln for ln in read_text(path, under).splitlines() if ln.strip()]
    except SubmissionError:
        return []
