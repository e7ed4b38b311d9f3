"""How SafeCollect (collect.py) copies one inbound folder: measured first without following
anything, copied with a cap into a staging folder and renamed into place (all or nothing), regular
files only, pages a browser would run and links left out and named in NOTES_FILE, a refused
notebook replaced by the released one."""

from __future__ import annotations

import glob
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nbgrader.utils import ignore_patterns, parse_utc

from ....intake.read import NOTES_FILE, link_refused, read_text, shown
from .. import messages as say
from ..intake import active_document


class Refused(Exception):
    """An inbound folder not collected: `reason` for the instructor's log and collect_skipped.csv
    (English, like nbgrader's log), `note` for the student (Japanese, in NOTES_FILE)."""

    def __init__(self, reason: str, note: str) -> None:
        super().__init__(reason)
        self.reason, self.note = reason, note


STAGING = ".collecting-"  # a copy in progress, beside submitted/<id>/<assignment>


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f}"


def page_refused(name: str) -> str:
    return say.page_refused(shown(name))


class FolderCopy:
    """The copying half of SafeCollect (a mixin before nbgrader's ExchangeCollect)."""

    coursedir: Any  # nbgrader's, set by the exchange
    log: Any
    max_files: int  # SafeCollect's trait
    _budget: int  # bytes the folder being copied may still add

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
                                say.too_many_files(self.max_files),
                            )
                        st = entry.stat(follow_symlinks=False)
                        if stat.S_ISDIR(st.st_mode):
                            stack.append(entry.path)
                        elif stat.S_ISREG(st.st_mode):
                            total += st.st_size  # the whole total, for the message: the count bounds the walk
        except OSError as exc:
            raise Refused(
                f"unreadable: {exc.strerror} ({os.path.relpath(exc.filename or src, src)})",
                say.unreadable(str(exc.strerror)),
            ) from exc
        if total > limit:
            raise Refused(
                f"{total} bytes, above {limit} (CourseDirectory.max_dir_size)",
                say.too_big(_mb(total), _mb(limit)),
            )
        self._budget = limit

    def _copy_file(self, src: str, dst: str) -> None:
        """copytree's copy function: a regular file at the time of opening (a FIFO swapped in
        after the walk would block the copy), at most the folder's remaining budget."""
        fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with open(fd, "rb") as fin:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise Refused(f"{src} is not a regular file", say.not_regular(shown(os.path.basename(src))))
            with open(dst, "wb") as fout:
                while chunk := fin.read(1 << 20):
                    self._budget -= len(chunk)
                    if self._budget < 0:
                        raise Refused(
                            "grew above CourseDirectory.max_dir_size while being copied",
                            say.GREW_WHILE_COPIED,
                        )
                    fout.write(chunk)
        os.chmod(dst, stat.S_IMODE(st.st_mode) & 0o755 | 0o600)  # no set-id bits, no write for others
        os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))

    def do_copy(self, src: str, dest: str, log: Any = None) -> None:
        if os.path.islink(src):  # the whole inbound entry is a link (to someone else's work?)
            os.makedirs(dest)
            self._write_notes(dest, [say.FOLDER_IS_LINK])
            self._stand_in(dest, [p.name for p in self._released().glob("*.ipynb")])
            return
        if not os.path.isdir(src):
            raise Refused("not a folder", say.NOT_A_FOLDER)
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
            notes.append(say.BAD_TIMESTAMP)
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
