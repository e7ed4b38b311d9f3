"""nbgrader's `collect` through the kit's intake (`c.ExchangeFactory.collect`): SafeCollect."""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.utils import check_mode, parse_utc
from traitlets import Int

from ....course.spreadsheet import write_csv
from ....intake.read import shown
from ....intake.submissions import STUDENT_ID
from .. import messages as say
from .copy import FolderCopy, Refused


@dataclass(frozen=True)
class Skipped:
    student: str
    folder: str  # the inbound folder's name
    reason: str
    action: str  # what the student's submitted/ folder holds now


SKIPPED_CSV = "collect_skipped.csv"  # in the course root: what `nbgrader collect` did not take, and why


class SafeCollect(FolderCopy, ExchangeCollect):  # type: ignore[misc]  # nbgrader ships no types
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
            say.not_copied(name, why),
        )
    return Refused(
        f"{type(exc).__name__} while copying: {exc}",
        say.copy_failed(type(exc).__name__),
    )


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return "an unknown user"
