"""nbgrader's way in, through the kit's intake (autograder.intake.read): set in nbgrader_config.py.

- SafeCollect (`c.ExchangeFactory.collect`): `nbgrader collect` takes each inbound folder on its
  own (one that cannot be collected is skipped with its reason, in SKIPPED_CSV and, where nothing
  is replaced, in NOTES_FILE), never as another student's (owner check), and copies regular files
  only: a symbolic link, a special file or an HTML/SVG/XML file is left out and named in
  NOTES_FILE, which both grading routes show the student; a notebook left out is replaced by the
  released one (0 points, with the reason, on every route). A submission whose student id (the
  inbound folder's name, chosen by whoever submits) is not one the batch would take (markup in it
  would reach the formgrader's pages) is not collected.
- IntakeExporter (`c.Autograde.exporter_class`): `nbgrader autograde` reads the submitted
  notebook as the batch does (no link, bounded size, nesting and values, strict UTF-8) into the
  canonical notebook (autograder.intake.canonical), and nbgrader grades only that. A refused notebook is
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

import glob
import json
import mimetypes
import os
import pwd
import re
import shutil
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import nbformat
from nbconvert.exporters import NotebookExporter
from nbformat.notebooknode import NotebookNode
from nbformat.v4.rwbase import rejoin_lines
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import check_mode, ignore_patterns, parse_utc
from traitlets import Int

from ...course.assignment import load_rubric
from ...course.spreadsheet import write_csv
from ...intake.read import (
    LINK,
    NOTES_FILE,
    SubmissionError,
    collect_notes,
    link_refused,
    read_text,
    shown,
)
from ...intake.read import take_in as read_canonical
from ...intake.skeleton import skeleton_of
from ...intake.submissions import STUDENT_ID


def _as_read(nb: dict[str, Any]) -> NotebookNode:
    """The notebook as nbformat.read gives it: NotebookNodes, sources as text (nbformat is untyped)."""
    return rejoin_lines(nbformat.from_dict(nb))  # type: ignore[no-untyped-call,no-any-return]


class Refused(Exception):
    """An inbound folder not collected: `reason` for the instructor's log and collect_skipped.csv
    (English, like nbgrader's log), `note` for the student (Japanese, in NOTES_FILE)."""

    def __init__(self, reason: str, note: str) -> None:
        super().__init__(reason)
        self.reason, self.note = reason, note


@dataclass(frozen=True)
class Skipped:
    student: str
    folder: str  # the inbound folder's name
    reason: str
    action: str  # what the student's submitted/ folder holds now


SKIPPED_CSV = "collect_skipped.csv"  # in the course root: what `nbgrader collect` did not take, and why
STAGING = ".collecting-"  # a copy in progress, beside submitted/<id>/<assignment>


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f}"


class SafeCollect(ExchangeCollect):  # type: ignore[misc]  # nbgrader ships no types
    """`nbgrader collect` where one inbound folder can neither stop the others nor pass for
    another student (nbgrader's own ends the whole command on the first folder that is too large,
    not a folder, or named with a time that is not a date, and only logs a folder owned by
    someone else than the student it names).

    Each inbound folder is taken in on its own: measured first without following anything
    (regular files only, at most `max_files` entries and CourseDirectory.max_dir_size in total,
    each file copied with a cap, so a sparse 2 GB file or a folder that grows during the copy is
    refused), copied into a staging folder beside the destination and renamed into place only
    when complete, so submitted/ never holds half a copy and an earlier submission is replaced
    only by a whole new one. A folder that cannot be collected is skipped, logged and recorded in
    SKIPPED_CSV (course root); the student's earlier submission stays, and where there is none the
    released notebook stands in with the reason in NOTES_FILE (0 points with the reason on every
    route, instead of no grade).

    Owner check (ExchangeCollect.check_owner, on by default): where the student id is a local user
    (a shared exchange on one machine, where each student submits as themself), the inbound folder
    must be owned by that user; another owner's folder is not collected, and does not count as the
    student's newest submission (the genuine one is collected; the earlier one stays). Where the id
    is not a local user (a course where everyone submits through one account, a hub whose users
    are not accounts of this machine, the tests), the exchange cannot tell students apart: the
    folder is collected unchecked, and the log says so once per run.

    Only regular files and folders are copied: a symbolic link (not followed), a FIFO or socket,
    and a file a browser would run as a page (HTML, SVG, XML: `active_document`; the formgrader
    serves submitted/ from the Jupyter origin) are left out and named in NOTES_FILE. A notebook
    left out is replaced by the released one. Student ids are the inbound folder's name up to its
    first "+", which whoever submits chooses, and the formgrader puts ids into its pages unescaped:
    as in the batch (autograder.intake.submissions.STUDENT_ID), letters, digits and _.@-, not starting
    with a dot."""

    max_files = Int(1000, help="most entries (files and folders) an inbound folder may hold").tag(config=True)

    src_records: list[dict[str, Any]]  # username, filename, timestamp (as nbgrader's init_src)

    def init_src(self) -> None:
        """nbgrader's, with each folder's problems its own: a name that is not a submission's, an
        id the formgrader cannot show, a time that is not a date, or a folder not owned by the
        student it names is skipped, and the newest of the others is the student's submission."""
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        self.course_path = os.path.join(self.root, self.coursedir.course_id)
        self.inbound_path = os.path.join(self.course_path, "inbound")
        if not os.path.isdir(self.inbound_path):
            self.fail(f"Course not found: {self.inbound_path}")
        if not check_mode(self.inbound_path, read=True, execute=True):
            self.fail(f"You don't have read permissions for the directory: {self.inbound_path}")
        self.skipped: list[Skipped] = []
        self.unchecked: set[str] = set()
        student = self.coursedir.student_id or "*"
        pattern = os.path.join(self.inbound_path, f"{student}+{self.coursedir.assignment_id}+*")
        records = [r for r in (self._record(p) for p in sorted(glob.glob(pattern))) if r is not None]
        if self.unchecked:
            self.log.warning(
                "owner not checked (not local users, so the exchange cannot tell who submitted): %s",
                ", ".join(sorted(self.unchecked)),
            )
        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            try:
                self.duedate = gb.find_assignment(self.coursedir.assignment_id).duedate
            except MissingEntry:
                self.duedate = None
        by_student: dict[str, list[dict[str, Any]]] = {}
        for rec in records:
            by_student.setdefault(rec["username"], []).append(rec)
        self.src_records = []
        for recs in by_student.values():
            recs.sort(key=lambda r: r["timestamp"], reverse=True)
            on_time = [r for r in recs if self.duedate is not None and r["timestamp"] <= self.duedate]
            self.src_records.append(on_time[0] if self.before_duedate and on_time else recs[0])

    def _record(self, path: str) -> dict[str, Any] | None:
        name = os.path.basename(path)
        parts = name.rsplit("+", 3)
        username = parts[0]
        if len(parts) < 3:
            self._skip(username, name, "not a submission's name (<student>+<assignment>+<time>)")
            return None
        if not STUDENT_ID.fullmatch(username) or username.startswith("."):
            self.log.error("not collected: %r is not a student id (letters, digits, _.@- only)", name)
            self._skip(username, name, "not a student id (letters, digits, _.@- only)", log=False)
            return None
        try:
            timestamp = parse_utc(parts[2])
        except Exception:  # dateutil raises several kinds; nbgrader's collect stopped for everyone
            self._skip(username, name, f"the time in the name is not a date: {parts[2][:40]!r}")
            return None
        if self.check_owner:
            try:
                owner = os.lstat(path).st_uid
            except OSError as exc:  # gone since the listing
                self._skip(username, name, f"unreadable: {exc.strerror}")
                return None
            try:
                uid = pwd.getpwnam(username).pw_uid
            except KeyError:
                self.unchecked.add(username)
            else:
                if owner != uid:
                    self._skip(
                        username,
                        name,
                        f"owned by {_user(owner)} (uid {owner}), not by the student {username} (uid {uid}):"
                        " someone else's folder under this student's name",
                    )
                    return None
        return {"username": username, "filename": name, "timestamp": timestamp}

    def _skip(self, student: str, folder: str, reason: str, action: str = "not collected", log: bool = True) -> None:
        if log:
            self.log.error("not collected: %s: %s (%s)", folder, reason, action)
        self.skipped.append(Skipped(student, folder, reason, action))

    def copy_files(self) -> None:
        if not self.src_records:
            self.log.warning(
                "No submissions of '%s' for course '%s' to collect",
                self.coursedir.assignment_id,
                self.coursedir.course_id,
            )
        else:
            self.log.info(
                "Processing %d submissions of '%s' for course '%s'",
                len(self.src_records),
                self.coursedir.assignment_id,
                self.coursedir.course_id,
            )
        for rec in self.src_records:
            self._collect(rec)
        if self.skipped:
            path = os.path.join(self.coursedir.root, SKIPPED_CSV)
            now = datetime.now(timezone.utc).isoformat(timespec="seconds")
            write_csv(
                path,
                ["collected_at", "assignment", "student", "inbound_folder", "reason", "action"],
                [[now, self.coursedir.assignment_id, s.student, s.folder, s.reason, s.action] for s in self.skipped],
                append=True,
            )
            self.log.warning("%d inbound folder(s) not collected: see %s", len(self.skipped), path)

    def _collect(self, rec: dict[str, Any]) -> None:
        """One inbound folder, as nbgrader decides whether to copy it; whatever goes wrong stays
        with this folder."""
        student, assignment = rec["username"], self.coursedir.assignment_id
        src = os.path.join(self.inbound_path, rec["filename"])
        dest = self.coursedir.format_path(self.coursedir.submitted_directory, student, assignment)
        replacing = os.path.isdir(dest)
        try:
            if replacing:
                existing, new = self.coursedir.get_existing_timestamp(dest), rec["timestamp"]
                if not (
                    (self.update and (existing is None or new > existing)) or (self.before_duedate and existing != new)
                ):
                    more = (
                        "No newer submission to collect"
                        if self.update
                        else "Submission already exists, use --update to update"
                    )
                    self.log.info("%s: %s %s", more, student, assignment)
                    return
            self.log.info("%s submission: %s %s", "Updating" if replacing else "Collecting", student, assignment)
            self._put(dest, lambda staged: self.do_copy(src, staged))
        except Exception as exc:
            refused = exc if isinstance(exc, Refused) else _copy_failed(exc, src)
            if not isinstance(exc, (Refused, shutil.Error)):  # unexpected: the traceback helps
                self.log.exception("collecting %s", src)
            kept = os.path.isdir(dest)
            self._skip(
                student,
                rec["filename"],
                refused.reason,
                "earlier submission kept" if kept else "release graded 0 with the reason",
            )
            if not kept:
                try:
                    self._put(dest, lambda staged: self._stand_in_folder(staged, rec, refused.note))
                except Exception:
                    self.log.exception("could not write the stand-in for %s", src)

    def _put(self, dest: str, fill: Callable[[str], None]) -> None:
        """Make `dest` by fill(staged) in a staging folder beside it, then rename: all or nothing."""
        parent = os.path.dirname(dest)
        os.makedirs(parent, exist_ok=True)
        for stale in glob.glob(os.path.join(glob.escape(parent), STAGING + "*")):  # a collect killed mid-copy
            shutil.rmtree(stale, ignore_errors=True)
        staging = tempfile.mkdtemp(prefix=STAGING, dir=parent)
        try:
            staged = os.path.join(staging, os.path.basename(dest))
            fill(staged)
            if not os.path.isdir(dest):
                os.rename(staged, dest)
                return
            replaced = os.path.join(staging, "replaced")
            os.rename(dest, replaced)
            try:
                os.rename(staged, dest)
            except OSError:
                os.rename(replaced, dest)  # the earlier submission stays, whatever happened
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _stand_in_folder(self, dest: str, rec: dict[str, Any], note: str) -> None:
        os.makedirs(dest)
        self._write_notes(dest, [note])
        self._stand_in(dest, [p.name for p in self._released().glob("*.ipynb")])
        # the inbound folder's time: a later submission (collect --update) replaces this one
        Path(dest, "timestamp.txt").write_text(rec["filename"].rsplit("+", 3)[2], encoding="utf-8")
        self._share(dest)

    def _measure(self, src: str) -> None:
        """Refuse a folder above the limits, walking it without following links (nbgrader's
        get_size follows them, and raises on a dangling one)."""
        limit = 1000 * self.coursedir.max_dir_size
        total = count = 0
        stack = [src]
        try:
            while stack:
                with os.scandir(stack.pop()) as entries:
                    for entry in entries:
                        count += 1
                        if count > self.max_files:
                            raise Refused(
                                f"more than {self.max_files} files and folders",
                                f"提出フォルダのファイルとフォルダが多すぎるため取り込みませんでした"
                                f"（{self.max_files:,} 個を超えています）",
                            )
                        st = entry.stat(follow_symlinks=False)
                        if stat.S_ISDIR(st.st_mode):
                            stack.append(entry.path)
                        elif stat.S_ISREG(st.st_mode):
                            total += st.st_size  # the whole total, for the message: the count bounds the walk
        except OSError as exc:
            raise Refused(
                f"unreadable: {exc.strerror} ({os.path.relpath(exc.filename or src, src)})",
                f"提出フォルダの一部を読めなかったため取り込みませんでした（{exc.strerror}）",
            ) from exc
        if total > limit:
            raise Refused(
                f"{total} bytes, above {limit} (CourseDirectory.max_dir_size)",
                f"提出フォルダが大きすぎるため取り込みませんでした（{_mb(total)} MB、上限 {_mb(limit)} MB）",
            )
        self._budget = limit

    def _copy_file(self, src: str, dst: str) -> None:
        """copytree's copy function: a regular file at the time of opening (a FIFO swapped in
        after the walk would block the copy), at most the folder's remaining budget."""
        fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with open(fd, "rb") as fin:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise Refused(
                    f"{src} is not a regular file", f"「{shown(os.path.basename(src))}」は通常のファイルではありません"
                )
            with open(dst, "wb") as fout:
                while chunk := fin.read(1 << 20):
                    self._budget -= len(chunk)
                    if self._budget < 0:
                        raise Refused(
                            "grew above CourseDirectory.max_dir_size while being copied",
                            "提出フォルダがコピー中に上限を超えて大きくなったため取り込みませんでした",
                        )
                    fout.write(chunk)
        os.chmod(dst, stat.S_IMODE(st.st_mode) & 0o755 | 0o600)  # no set-id bits, no write for others
        os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))

    def do_copy(self, src: str, dest: str, log: Any = None) -> None:
        if os.path.islink(src):  # the whole inbound entry is a link (to someone else's work?)
            os.makedirs(dest)
            self._write_notes(dest, [f"提出フォルダが{LINK}のため採点しません（リンク先は読みません）"])
            self._stand_in(dest, [p.name for p in self._released().glob("*.ipynb")])
            return
        if not os.path.isdir(src):
            raise Refused("not a folder", "提出がフォルダではないため取り込みませんでした")
        self._measure(src)
        nbgrader_ignore = ignore_patterns(
            exclude=self.coursedir.ignore,
            include=self.coursedir.include,
            max_file_size=self.coursedir.max_file_size,
            log=self.log,
        )
        refused: list[str] = []
        pages: list[str] = []

        def ignore(folder: str, names: list[str]) -> set[str]:
            skip = set(nbgrader_ignore(folder, names))
            for name in names:
                path = os.path.join(folder, name)
                if os.path.islink(path) or not (os.path.isfile(path) or os.path.isdir(path)):
                    skip.add(name)
                    refused.append(os.path.relpath(path, src))
                elif os.path.isfile(path) and active_document(name):
                    skip.add(name)
                    pages.append(os.path.relpath(path, src))
                elif name == NOTES_FILE and folder == src:
                    skip.add(name)  # ours: a student's file of that name is not believed
            return skip

        shutil.copytree(src, dest, symlinks=True, ignore=ignore, copy_function=self._copy_file)
        notes = [link_refused(r) for r in sorted(refused)] + [page_refused(p) for p in sorted(pages)]
        if refused:
            self.log.warning("%s: not collected (symbolic links or special files): %s", src, refused)
        if pages:
            self.log.warning("%s: not collected (pages a browser would run: HTML, SVG, XML): %s", src, pages)
        if not self._timestamp_ok(dest):
            # the student can write timestamp.txt; nbgrader would fail this student's autograde
            # and every later `collect --update` on it: keep the time of the inbound folder's name
            stamp = os.path.basename(src).rsplit("+", 3)[2]
            Path(dest, "timestamp.txt").write_text(stamp, encoding="utf-8")
            notes.append("timestamp.txt が日時ではなかったため、提出フォルダ名の時刻を使いました")
        if notes:
            self._write_notes(dest, notes)
        self._stand_in(dest, [r for r in refused if r.endswith(".ipynb") and os.sep not in r])
        self._share(dest)

    def _share(self, dest: str) -> None:
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


def _copy_failed(exc: Exception, src: str) -> Refused:
    """What went wrong while copying, without the exchange's paths for the student. copytree
    copies what it can, then raises shutil.Error listing (source, destination, why) per file."""
    if isinstance(exc, shutil.Error) and exc.args and isinstance(exc.args[0], list) and exc.args[0]:
        first, _, why = exc.args[0][0]
        name = shown(os.path.relpath(first, src))
        errno_text = re.search(r"\[Errno \d+\] ([^:]+)", str(why))
        why = errno_text.group(1) if errno_text else "?"
        return Refused(
            f"could not copy {name}: {why} ({len(exc.args[0])} file(s))",
            f"「{name}」をコピーできなかったため、提出を取り込みませんでした（{why}）。"
            "ほかの人が読めるファイルだけを提出してください",
        )
    return Refused(
        f"{type(exc).__name__} while copying: {exc}",
        f"提出フォルダのコピー中にエラー（{type(exc).__name__}）が起きたため取り込めませんでした。担当者に連絡してください",
    )


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return "an unknown user"


def page_refused(name: str) -> str:
    return (
        f"「{shown(name)}」は HTML・SVG・XML のファイルのため取り込みません"
        "（採点画面でウェブページとして開かれてしまうため）。解答はノートブックに書いてください"
    )


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
    and the notes for the student, exactly as the batch makes them (autograder.routes.batch.pool.read_canonical).

    Read once per submission: IntakeExporter's call reads it, JudgeScores' and IntakeNotes' calls
    (nbgrader's second pass hands them nothing from the first) get the same Intake, while the
    submitted file and its notes are unchanged. Callers do not mutate it."""
    taken = _taken(str(path), str(root), str(release), _identity(path))
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
def _taken(path: str, root: str, release: str, identity: tuple[tuple[int, int, int] | None, ...]) -> Intake:
    notes = collect_notes(Path(path).parent, Path(root))
    sk = skeleton_of(Path(release))
    try:
        got = read_canonical(Path(path), sk, under=Path(root))
        return Intake(got.notebook, notes + got.notes, None)
    except SubmissionError as exc:
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
        nb = take_in(path, root, release_path, self.log).notebook  # its notes: JudgeScores, IntakeNotes
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
      (autograder.intake.submissions.choose_notebook: the only one, else the newest) is renamed to it,
      and `notebooks` (nbgrader's own list, passed in) names it. The note goes in NOTES_FILE.

    nbgrader passes its CLI filter as `student`, not the submission's: the folder is the notebooks'."""
    from ...intake.submissions import choose_notebook, read_timestamp

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
