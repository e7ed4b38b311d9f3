"""The submissions of a class in nbgrader's layout: submitted/<student>/<assignment>/*.ipynb.

Which notebook of a folder is graded (and why), its content hash (what the gradebook records, so a
rerun skips what it has graded), its timestamp, and the students whose folder name is refused.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from ..course.assignment import Assignment
from . import messages as say
from .read import (
    SubmissionError,
    collect_notes,
    link_refused,
    open_regular,
    read_text,
    shown,
)


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path | None  # the notebook graded, None if there is none
    note: str  # why this file (several notebooks, another name), or ""
    sha256: str  # identifies the content: a resubmission is graded again
    timestamp: str | None


def _hash(path: Path | None, note: str, under: Path | None = None) -> str:
    h = hashlib.sha256(note.encode("utf-8", "replace"))
    if path is not None:
        try:  # opened as the grader opens it: a file swapped for a link is refused there too
            with open_regular(path, under) as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
        except (SubmissionError, OSError) as exc:
            h.update(str(exc).encode("utf-8", "replace"))
    return h.hexdigest()


def choose_notebook(folder: Path, expected: str) -> tuple[Path | None, str]:
    """The notebook to grade in a student's folder, and a note when the choice was not obvious.

    Only regular files count: a notebook that is a symbolic link is named in the note, never read."""
    found, links = [], []
    with os.scandir(folder) as entries:
        for e in entries:
            if e.name.endswith(".ipynb"):
                if e.is_symlink():
                    links.append(e.name)
                elif e.is_file(follow_symlinks=False):
                    found.append(folder / e.name)
    found.sort()
    refused = [link_refused(n) for n in sorted(links)]
    if not found:
        return None, sentences(*refused) or say.NOTEBOOK_MISSING
    if len(found) == 1:
        only = found[0]
        note = "" if only.name == expected else say.renamed(shown(only.name), expected)
        return only, sentences(*refused, note)
    names = "、".join(shown(p.name) for p in found)
    exact = folder / expected
    if exact in found:
        return exact, sentences(*refused, say.several_notebooks(len(found), names, expected, newest=False))
    newest = max(found, key=lambda p: (p.lstat().st_mtime, p.name))
    return newest, sentences(*refused, say.several_notebooks(len(found), names, shown(newest.name), newest=True))


def sentences(*parts: str) -> str:
    """One note of several parts (a submission's note is one line)."""
    return "。".join(p for p in parts if p)


def read_timestamp(folder: Path, under: Path) -> tuple[str | None, str]:
    """timestamp.txt as nbgrader reads it, or None and a note when it is not a date (anyone can
    write into the exchange's inbound folder, so the student may have written this file)."""
    from nbgrader.utils import parse_utc

    stamp = folder / "timestamp.txt"
    if not os.path.lexists(stamp):
        return None, ""
    try:
        text = read_text(stamp, under).strip()
        if text:
            parse_utc(text)
        return text or None, ""
    except SubmissionError as exc:
        return None, say.timestamp_unreadable(exc)
    except Exception:  # dateutil raises several kinds on garbage (ValueError, OverflowError, ...)
        return None, say.TIMESTAMP_NOT_A_DATE


# Student ids go into formgrader's pages unescaped (its manage_students templates put them in a
# JavaScript string): letters (any script), digits and _.@- only.
STUDENT_ID = re.compile(r"[\w.@-]{1,128}")


def discover(root: Path, assignment: Assignment) -> list[Submission]:
    """Every student folder of submitted/, once each; a folder that cannot be read is still a
    submission (graded 0 with the reason), so no student is left out or stops the others."""
    expected = f"{assignment.notebook}.ipynb"
    subs = []
    top = root / "submitted"
    for student_dir in sorted(top.iterdir()) if top.is_dir() else []:
        student = student_dir.name
        if student != shown(student) or student.startswith(".") or not STUDENT_ID.fullmatch(student):
            print(
                f"warning: skipped submitted/{shown(student)!r}: not a student id (not UTF-8, hidden, "
                "or characters other than letters, digits and _.@-)",
                file=sys.stderr,
            )
            continue
        folder = student_dir / assignment.name
        if not (os.path.lexists(folder) or student_dir.is_symlink()):
            continue
        try:
            if student_dir.is_symlink() or folder.is_symlink() or not folder.is_dir():
                path, note = None, say.FOLDER_IS_LINK
                timestamp, stamp_note = None, ""
            else:
                path, note = choose_notebook(folder, expected)
                timestamp, stamp_note = read_timestamp(folder, root)
                note = sentences(*collect_notes(folder, root), note)
            note = sentences(note, stamp_note)
            subs.append(Submission(student, path, note, _hash(path, note, root), timestamp))
        except Exception as exc:  # an unreadable folder: this student only, with the reason
            note = say.folder_unreadable(type(exc).__name__)
            subs.append(Submission(student, None, note, _hash(None, note), None))
    return subs
