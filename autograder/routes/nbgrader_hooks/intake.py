"""nbgrader's way in, through the kit's intake (autograder.intake.read): set in nbgrader_config.py.

- SafeCollect (exchange/collect.py, `c.ExchangeFactory.collect`): `nbgrader collect` takes each
  inbound folder on its own (one that cannot be collected is skipped with its reason, in SKIPPED_CSV
  and, where nothing is replaced, in NOTES_FILE), never as another student's (owner check), and
  copies regular files only: a symbolic link, a special file or an HTML/SVG/XML file is left out and
  named in NOTES_FILE, which both grading routes show the student; a notebook left out is replaced
  by the released one (0 points, with the reason, on every route). A submission whose student id
  (the inbound folder's name, chosen by whoever submits) is not one the batch would take (markup in
  it would reach the formgrader's pages) is not collected.
- IntakeExporter (exporters/intake.py, `c.Autograde.exporter_class`): `nbgrader autograde` reads the
  submitted notebook as the batch does (no link, bounded size, nesting and values, strict UTF-8)
  into the canonical notebook (autograder.intake.canonical), and nbgrader grades only that. A
  refused notebook is replaced by the release carrying the reason, so the student gets 0 with the
  reason instead of no grade. Extra files nbgrader copied through a link (its init_assignment
  follows links) are deleted from autograded/ before anything reads them, so they never reach
  feedback/ either. So are extra files a browser would run as a page (HTML, SVG, XML:
  `active_document`): the formgrader serves autograded/ at /formgrader/submissions/<id>/<file> from
  the Jupyter server's own origin, without the "sandbox" CSP jupyter_server puts on the files it
  serves itself, so a student's notes.html would run its script in the instructor's logged-in
  session.
- IntakeNotes (preprocessors/intake_notes.py, `c.Autograde.autograde_preprocessors`): the same notes
  in the gradebook.
- prepare_submission (pre_convert.py, `c.Autograde.pre_convert_hook`): a submission's folder laid
  out as the batch reads it before nbgrader copies it.

This module holds what they share: `take_in` (one reading per submission, the same Intake for the
exporter and the preprocessors), `intake_notes`, `active_document` and `linked_files`.
"""

from __future__ import annotations

import json
import mimetypes
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import nbformat
from nbformat.notebooknode import NotebookNode
from nbformat.v4.rwbase import rejoin_lines
from nbgrader.preprocessors import NbGraderPreprocessor

from ...course.assignment import assignment
from ...intake.read import NOTES_FILE, SubmissionError, collect_notes
from ...intake.read import take_in as read_canonical
from ...intake.skeleton import skeleton_of


def as_read(nb: dict[str, Any]) -> NotebookNode:
    """The notebook as nbformat.read gives it: NotebookNodes, sources as text (nbformat is untyped)."""
    return rejoin_lines(nbformat.from_dict(nb))  # type: ignore[no-untyped-call,no-any-return]


def active_document(name: str) -> bool:
    """Whether a browser opening this file, served with the type tornado's StaticFileHandler
    gives it (mimetypes.guess_type; unknown types go as application/octet-stream, downloaded),
    would render it as a document that runs scripts: HTML, XHTML, SVG, XML (XSLT or XHTML inside)."""
    kind = mimetypes.guess_type(name)[0] or ""
    return "html" in kind or "xml" in kind or kind == "image/svg+xml"


def linked_files(folder: Path, root: Path) -> list[str] | None:
    """Files below `folder` (relative) that are symbolic links; None when `folder` itself or a
    folder between it and `root` is one (then everything in it came through a link)."""
    here = folder
    while here != root and root in here.parents:
        if here.is_symlink():
            return None
        here = here.parent
    found = []
    for top, _, files in os.walk(folder):  # does not descend into linked folders (nbgrader neither)
        found += [os.path.relpath(os.path.join(top, f), folder) for f in files if os.path.islink(os.path.join(top, f))]
    return found


@dataclass(frozen=True)
class Intake:
    notebook: dict[str, Any]  # what nbgrader grades: the submission, or the release if refused
    notes: list[str]  # for the student, the refusal's reason last
    refused: str | None  # why the submission was not read (the release was graded), or None


def take_in(path: Path, root: Path, release: Path, name: str, log: Any = None) -> Intake:
    """The notebook nbgrader grades, the canonical one (the release if the submission is refused),
    and the notes for the student, exactly as the batch makes them (autograder.routes.batch.pool.read_canonical).
    name: the assignment's (nbgrader's resources say which it is).

    Read once per submission: IntakeExporter's call reads it, JudgeScores' and IntakeNotes' calls
    (nbgrader's second pass hands them nothing from the first) get the same Intake, while the
    submitted file and its notes are unchanged. Callers do not mutate it."""
    taken = _taken(str(path), str(root), str(release), name, _identity(path))
    if taken.refused and log is not None:
        log.warning("%s: refused: %s", path, taken.refused)
    return taken


def _identity(path: Path) -> tuple[tuple[int, int, int] | None, ...]:
    """What changes when the submitted notebook or its collect notes change."""
    stamps: list[tuple[int, int, int] | None] = []
    for each in (path, path.parent / NOTES_FILE):
        try:
            st = os.lstat(each)
            stamps.append((st.st_ino, st.st_size, st.st_mtime_ns))
        except OSError:
            stamps.append(None)
    return tuple(stamps)


@lru_cache(maxsize=4)
def _taken(path: str, root: str, release: str, name: str, identity: tuple[tuple[int, int, int] | None, ...]) -> Intake:
    notes = collect_notes(Path(path).parent, Path(root))
    sk = skeleton_of(Path(release), assignment(name))
    try:
        got = read_canonical(Path(path), sk, under=Path(root))
        return Intake(got.notebook, notes + got.notes, None)
    except SubmissionError as exc:
        return Intake(json.loads(json.dumps(sk.release)), [*notes, str(exc)], str(exc))


def intake_notes(preprocessor: NbGraderPreprocessor, info: dict[str, Any]) -> Intake:
    """The intake's notes on the submission an autograde preprocessor is working on, made again
    from the submitted file as IntakeExporter made them (nbgrader's second pass reads the
    notebook it wrote, and hands on no resources from the first)."""
    converter = preprocessor.parent.parent  # the exporter's parent: nbgrader's Autograde
    coursedir = converter.coursedir
    root = Path(os.path.abspath(coursedir.root))
    submitted = Path(coursedir.format_path(coursedir.submitted_directory, info["student"], info["assignment"]))
    release = Path(coursedir.format_path(coursedir.release_directory, ".", info["assignment"]))
    path = submitted / f"{info['notebook']}.ipynb"
    return take_in(path, root, release / path.name, str(info["assignment"]))
