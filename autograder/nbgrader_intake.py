"""nbgrader's way in, through the kit's intake (autograder.intake): set in nbgrader_config.py.

- SafeCollect (`c.ExchangeFactory.collect`): `nbgrader collect` copies regular files only. A
  symbolic link in a student's inbound folder (which anyone can write to) is not followed: it is
  left out and named in NOTES_FILE, which both grading routes show the student; a notebook left
  out is replaced by the released one (0 points, with the reason, on every route).
  A submission whose student id (the inbound folder's name, chosen by whoever submits) is not
  one the batch would take (markup in it would reach the formgrader's pages) is not collected.
- IntakeExporter (`c.Autograde.exporter_class`): `nbgrader autograde` reads the submitted
  notebook as the batch does (no link, bounded size, nesting and values, strict UTF-8) into the
  canonical notebook (autograder.canonical), and nbgrader grades only that. A refused notebook is
  replaced by the release carrying the reason, so the student gets 0 with the reason instead of
  no grade. Extra files nbgrader copied through a link (its init_assignment follows links) are
  deleted from autograded/ before anything reads them, so they never reach feedback/ either.
  So are extra files a browser would run as a page (HTML, SVG, XML: `active_document`): the
  formgrader serves autograded/ at /formgrader/submissions/<id>/<file> from the Jupyter server's
  own origin, without the "sandbox" CSP jupyter_server puts on the files it serves itself, so a
  student's notes.html would run its script in the instructor's logged-in session.
- IntakeNotes (`c.Autograde.autograde_preprocessors`): the same notes in the gradebook.
"""

from __future__ import annotations

import json
import mimetypes
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import nbformat
from nbconvert.exporters import NotebookExporter
from nbformat.notebooknode import NotebookNode
from nbformat.v4.rwbase import rejoin_lines
from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import ignore_patterns, parse_utc

from .assignment import load_rubric
from .canonical import skeleton_of
from .intake import (
    LINK,
    NOTES_FILE,
    SubmissionError,
    add_memo,
    collect_notes,
    link_refused,
    read_text,
    shown,
)
from .intake import take_in as read_canonical
from .submissions import STUDENT_ID


def _as_read(nb: dict[str, Any]) -> NotebookNode:
    """The notebook as nbformat.read gives it: NotebookNodes, sources as text (nbformat is untyped)."""
    return rejoin_lines(nbformat.from_dict(nb))  # type: ignore[no-untyped-call,no-any-return]


class SafeCollect(ExchangeCollect):  # type: ignore[misc]  # nbgrader ships no types
    """`nbgrader collect` that never follows a symbolic link, and takes in only student ids the
    formgrader can show: the id is the inbound folder's name up to its first "+", which anyone
    who can submit chooses, and the formgrader puts ids into its pages unescaped (a submission's
    page, when the student has no name in the roster; manage_students). As in the batch
    (autograder.submissions.STUDENT_ID): letters, digits and _.@-, not starting with a dot."""

    src_records: list[dict[str, Any]]  # nbgrader's init_src sets it: username, filename, timestamp

    def init_src(self) -> None:
        super().init_src()
        kept: list[dict[str, Any]] = []
        for rec in self.src_records:
            if STUDENT_ID.fullmatch(rec["username"]) and not rec["username"].startswith("."):
                kept.append(rec)
            else:
                self.log.error("not collected: %r is not a student id (letters, digits, _.@- only)", rec["filename"])
        self.src_records = kept

    def do_copy(self, src: str, dest: str, log: Any = None) -> None:
        if os.path.islink(src):  # the whole inbound entry is a link (to someone else's work?)
            os.makedirs(dest)
            self._write_notes(dest, [f"提出フォルダが{LINK}のため採点しません（リンク先は読みません）"])
            self._stand_in(dest, [p.name for p in self._released().glob("*.ipynb")])
            return
        if self.get_size(src) > 1000 * self.coursedir.max_dir_size:  # as nbgrader's do_copy
            raise RuntimeError(f"Directory size is too big (maximum {1000 * self.coursedir.max_dir_size})")
        nbgrader_ignore = ignore_patterns(
            exclude=self.coursedir.ignore,
            include=self.coursedir.include,
            max_file_size=self.coursedir.max_file_size,
            log=self.log,
        )
        refused: list[str] = []

        def ignore(folder: str, names: list[str]) -> set[str]:
            skip = set(nbgrader_ignore(folder, names))
            for name in names:
                path = os.path.join(folder, name)
                if os.path.islink(path) or not (os.path.isfile(path) or os.path.isdir(path)):
                    skip.add(name)
                    refused.append(os.path.relpath(path, src))
                elif name == NOTES_FILE and folder == src:
                    skip.add(name)  # ours: a student's file of that name is not believed
            return skip

        shutil.copytree(src, dest, symlinks=True, ignore=ignore)
        notes = [link_refused(r) for r in sorted(refused)]
        if refused:
            self.log.warning("%s: not collected (symbolic links or special files): %s", src, refused)
        if not self._timestamp_ok(dest):
            # the student can write timestamp.txt; nbgrader would fail this student's autograde
            # and every later `collect --update` on it: keep the time of the inbound folder's name
            stamp = os.path.basename(src).rsplit("+", 3)[2]
            Path(dest, "timestamp.txt").write_text(stamp, encoding="utf-8")
            notes.append("timestamp.txt が日時ではなかったため、提出フォルダ名の時刻を使いました")
        if notes:
            self._write_notes(dest, notes)
        self._stand_in(dest, [r for r in refused if r.endswith(".ipynb") and os.sep not in r])
        if self.coursedir.groupshared:
            for folder, _, files in os.walk(dest):
                os.chmod(folder, (os.stat(folder).st_mode | 0o2770) & 0o2777)
                for name in files:
                    path = os.path.join(folder, name)
                    os.chmod(path, (os.stat(path).st_mode | 0o660) & 0o777)

    def _released(self) -> Path:
        return Path(self.coursedir.format_path(self.coursedir.release_directory, ".", self.coursedir.assignment_id))

    def _stand_in(self, dest: str, notebooks: list[str]) -> None:
        """A refused notebook is replaced by the released one: graded 0 with the reason (the notes
        file) on every route, instead of "no submission" without one."""
        for name in notebooks:
            released = self._released() / name
            if released.is_file() and not os.path.lexists(os.path.join(dest, name)):
                shutil.copyfile(released, os.path.join(dest, name))

    @staticmethod
    def _timestamp_ok(dest: str) -> bool:
        path = Path(dest, "timestamp.txt")
        if not os.path.lexists(path):
            return True
        try:
            text = read_text(path).strip()
            return not text or parse_utc(text) is not None
        except Exception:  # not UTF-8, too long, a folder, or not a date (dateutil raises several kinds)
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            return False

    @staticmethod
    def _write_notes(dest: str, lines: list[str]) -> None:
        Path(dest, NOTES_FILE).write_text("".join(f"{ln}\n" for ln in lines), encoding="utf-8")


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


def take_in(path: Path, root: Path, release: Path, log: Any = None) -> Intake:
    """The notebook nbgrader grades, the canonical one (the release if the submission is refused),
    and the notes for the student, exactly as the batch makes them (autograder.grading_pool.read_canonical)."""
    notes = collect_notes(path.parent, root)
    sk = skeleton_of(release)
    try:
        got = read_canonical(path, sk, under=root)
        return Intake(got.notebook, notes + got.notes, None)
    except SubmissionError as exc:
        if log is not None:
            log.warning("%s: refused: %s", path, exc)
        return Intake(json.loads(json.dumps(sk.release)), [*notes, str(exc)], str(exc))


class IntakeExporter(NotebookExporter):
    """`c.Autograde.exporter_class`: see the module's docstring."""

    def from_filename(
        self, filename: str, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[NotebookNode, dict[str, Any]]:  # nbconvert's annotation; a NotebookExporter's is text
        converter = self.parent
        if converter is None or not getattr(converter, "_sanitizing", False):  # second pass: nbgrader's own
            return super().from_filename(filename, resources, **kw)
        coursedir = converter.coursedir
        root = Path(os.path.abspath(coursedir.root))  # as nbgrader builds `filename`
        path = Path(os.path.abspath(filename))
        info = (resources or {}).get("nbgrader", {})
        assignment, student = info.get("assignment"), info.get("student")
        release_path = Path(coursedir.format_path(coursedir.release_directory, ".", assignment)) / path.name
        self._remove_linked_copies(
            path.parent,
            root,
            Path(converter._format_dest(assignment, student)),
            Path(coursedir.format_path(coursedir.source_directory, ".", assignment)),
        )
        self._remove_active_documents(
            Path(converter._format_dest(assignment, student)),
            Path(coursedir.format_path(coursedir.source_directory, ".", assignment)),
        )
        taken = take_in(path, root, release_path, self.log)
        nb, notes = taken.notebook, taken.notes
        add_memo(nb, notes)
        node = _as_read(nb)
        out = self.from_notebook_node(node, resources, **kw)  # type: ignore[no-untyped-call]
        return cast(tuple[NotebookNode, dict[str, Any]], out)

    def _remove_linked_copies(self, folder: Path, root: Path, dest: Path, source: Path) -> None:
        """Delete what nbgrader's init_assignment copied from a link (the master copies it wrote
        from source/ over them stay)."""
        links = linked_files(folder, root)
        if links is None:
            links = [os.path.relpath(os.path.join(t, f), dest) for t, _, fs in os.walk(dest) for f in fs]
        for rel in links:
            copy = dest / rel
            if (source / rel).is_file() or not copy.is_file():
                continue
            self.log.warning("removing %s: copied from a symbolic link in the submission", copy)
            copy.unlink()

    def _remove_active_documents(self, dest: Path, source: Path) -> None:
        """Delete the student's extra files the formgrader would serve as a scripted page (see the
        module's docstring); files of source/ stay, the submitted originals are left untouched."""
        for top, _, files in os.walk(dest):
            for name in files:
                copy = Path(top, name)
                if active_document(name) and not (source / copy.relative_to(dest)).is_file():
                    self.log.warning("removing %s: a page the formgrader would serve from its own origin", copy)
                    copy.unlink()


class IntakeNotes(NbGraderPreprocessor):  # type: ignore[misc]  # nbgrader ships no types
    """`c.Autograde.autograde_preprocessors`, after SaveAutoGrades: the intake's notes (refused
    links, replaced characters, grade_ids not graded...) also go into the gradebook, as the
    batch records them: leading the first answer cell's comment."""

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        from nbgrader.api import Gradebook

        info = resources["nbgrader"]
        notes = intake_notes(self, info).notes
        first = next((p.answer_cell for p in load_rubric().parts.values() if p.answer_cell), None)
        if notes and first:
            with Gradebook(info["db_url"]) as gb:
                comment = gb.find_comment(first, info["notebook"], info["assignment"], info["student"])
                comment.auto_comment = "".join(f"{m}\n" for m in notes) + (comment.auto_comment or "")
                gb.db.commit()
        return nb, resources


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
    return take_in(path, root, release / path.name)


def prepare_submission(assignment: str, student: str, notebooks: list[str]) -> None:
    """`c.Autograde.pre_convert_hook`: before nbgrader copies a submission's files, lay its folder
    out as the batch reads it, so that both routes grade the same notebook with the same note
    (zip_collect and folders placed by hand never went through SafeCollect):

    - a FIFO, socket or device is removed (it holds no data; nbgrader's copy would fail the student);
    - a timestamp.txt that is not a date is removed (graded without a time, as the batch does);
    - where the released notebook's name is missing, the notebook the batch would grade
      (autograder.submissions.choose_notebook: the only one, else the newest) is renamed to it,
      and `notebooks` (nbgrader's own list, passed in) names it. The note goes in NOTES_FILE.

    nbgrader passes its CLI filter as `student`, not the submission's: the folder is the notebooks'."""
    from .submissions import choose_notebook, read_timestamp

    if not notebooks:
        return
    folder = Path(notebooks[0]).parent
    notes = []
    for top, dirs, files in os.walk(folder):
        for name in files + dirs:
            path = os.path.join(top, name)
            st = os.lstat(path)
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode) or stat.S_ISLNK(st.st_mode)):
                os.unlink(path)
                notes.append(
                    f"「{shown(os.path.relpath(path, folder))}」は通常のファイルではないため、採点に使いませんでした"
                )
    _, stamp_note = read_timestamp(folder, folder.parents[2])
    if stamp_note:  # nbgrader would fail this student: graded without a time, as in the batch
        os.unlink(folder / "timestamp.txt")
        notes.append(stamp_note)
    expected = folder / f"{load_rubric().notebook}.ipynb"
    if not os.path.lexists(expected):
        chosen, note = choose_notebook(folder, expected.name)
        if chosen is not None:
            os.rename(chosen, expected)
            notebooks[:] = [str(expected) if p == str(chosen) else p for p in notebooks]
            if str(expected) not in notebooks:
                notebooks.append(str(expected))
            notes.append(note)
    if notes:
        with open(folder / NOTES_FILE, "a", encoding="utf-8") as f:
            f.write("".join(f"{n}\n" for n in notes if n))
