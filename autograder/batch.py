"""Grade a whole class: `python -m autograder batch <assignment> --workers N [--dask ADDRESS]`.

Reads nbgrader's layout (submitted/<student>/<assignment>/*.ipynb), grades every submission whose
content changed since it was last recorded, in parallel (local worker processes or a Dask
cluster), and writes the same things as `nbgrader autograde` with the judge: scores and comments
in nbgrader's gradebook, autograded/<student>/<assignment>/<notebook>.ipynb, and feedback.

Crash-safe: results are written by this (coordinating) process only, one submission per database
transaction together with the hash of what was graded (see gradebook.py). Kill it at any moment
and run it again: finished submissions are skipped, the rest graded; the gradebook ends as after
one uninterrupted run.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import re
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from .assignment import ROOT, load_rubric
from .intake import (
    LINK,
    SubmissionError,
    add_memo,
    collect_notes,
    link_refused,
    normalise,
    open_regular,
    read_notebook,
    read_text,
    shown,
)
from .nbgrader_glue import generate_feedback
from .results import Results


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
        return None, sentences(*refused) or "提出フォルダにノートブック（.ipynb）がありません"
    if len(found) == 1:
        only = found[0]
        note = "" if only.name == expected else f"ファイル名が「{shown(only.name)}」でした（{expected} として採点）"
        return only, sentences(*refused, note)
    names = "、".join(shown(p.name) for p in found)
    exact = folder / expected
    if exact in found:
        return exact, sentences(
            *refused, f"ノートブックが {len(found)} 個ありました（{names}）。{expected} を採点しました"
        )
    newest = max(found, key=lambda p: (p.lstat().st_mtime, p.name))
    return newest, sentences(
        *refused, f"ノートブックが {len(found)} 個ありました（{names}）。最も新しい {shown(newest.name)} を採点しました"
    )


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
        return None, f"timestamp.txt を読めないため（{exc}）、提出時刻なしで採点しました"
    except Exception:  # dateutil raises several kinds on garbage (ValueError, OverflowError, ...)
        return None, "timestamp.txt が日時ではないため、提出時刻なしで採点しました"


# Student ids go into formgrader's pages unescaped (its manage_students templates put them in a
# JavaScript string): letters (any script), digits and _.@- only.
STUDENT_ID = re.compile(r"[\w.@-]{1,128}")


def discover(root: Path, assignment: str) -> list[Submission]:
    """Every student folder of submitted/, once each; a folder that cannot be read is still a
    submission (graded 0 with the reason), so no student is left out or stops the others."""
    expected = f"{load_rubric().notebook}.ipynb"
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
        folder = student_dir / assignment
        if not (os.path.lexists(folder) or student_dir.is_symlink()):
            continue
        try:
            if student_dir.is_symlink() or folder.is_symlink() or not folder.is_dir():
                path, note = None, f"提出フォルダが{LINK}など通常のフォルダではないため採点しません"
                timestamp, stamp_note = None, ""
            else:
                path, note = choose_notebook(folder, expected)
                timestamp, stamp_note = read_timestamp(folder, root)
                note = sentences(*collect_notes(folder, root), note)
            note = sentences(note, stamp_note)
            subs.append(Submission(student, path, note, _hash(path, note, root), timestamp))
        except Exception as exc:  # an unreadable folder: this student only, with the reason
            note = f"提出フォルダを読めませんでした（{type(exc).__name__}）"
            subs.append(Submission(student, None, note, _hash(None, note), None))
    return subs


# -- grading (runs in workers: local processes or Dask) -------------------------------------------


def _die_with_parent() -> None:
    """Worker initializer: a SIGKILLed coordinator takes its workers (and their sandboxes) along."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass
    # A coordinator killed while this worker was still starting (spawn and imports) sent
    # no signal: prctl came too late. Its tasks would still be graded and the worker wait forever.
    import multiprocessing

    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:
        os._exit(1)


_SERVERS: dict[str, Any] = {}  # per worker process: one ForkServer (sandbox) per isolation level


def course_files(path: Path) -> tuple[Path, dict[str, Any]]:
    """The course root of a notebook in nbgrader's layout (root/submitted/<student>/<assignment>/),
    and its released notebook, which `normalise` restores the nbgrader metadata from."""
    root = path.parents[3]
    rubric = load_rubric()
    release = root / "release" / path.parent.name / f"{rubric.notebook}.ipynb"
    if not release.is_file():
        release = ROOT / "release" / rubric.assignment / f"{rubric.notebook}.ipynb"
    return root, _released(str(release), release.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _released(path: str, mtime_ns: int) -> dict[str, Any]:
    """Parsed once per worker (normalise only reads it)."""
    return cast(dict[str, Any], json.loads(Path(path).read_text(encoding="utf-8")))


def read_normalised(path: Path) -> tuple[dict[str, Any], list[str]]:
    """The submission as every route grades it: read by the intake, metadata as released."""
    root, release = course_files(path)
    got = read_notebook(path, under=root)
    return got.notebook, got.notes + normalise(got.notebook, release)


def grade_path(path: str | None, note: str, isolation: str = "auto") -> str:
    """Grade one notebook and return the results as JSON text (plain data between processes).

    Runs in a worker (local or Dask), which keeps one ForkServer: each submission then gets a
    fresh student process forked instead of a new sandbox and interpreter."""
    from .judge import grade
    from .sandbox.fork_server import ForkServer

    notes = [note] if note else []
    if path is None:
        results = Results.empty(load_rubric(), note, isolation)
    else:
        try:
            nb, more = read_normalised(Path(path))
            notes += more
            if isolation not in _SERVERS:
                _SERVERS[isolation] = ForkServer(isolation)
            results = grade(nb, isolation=isolation, server=_SERVERS[isolation])
        except SubmissionError as exc:  # refused by the intake: 0, with the reason
            results = Results.empty(load_rubric(), str(exc), isolation)
        except Exception as exc:  # the judge itself failed: record it, never stop the batch
            results = Results.empty(
                load_rubric(),
                f"採点中にエラーが発生しました（{type(exc).__name__}）。担当教員に連絡してください",
                isolation,
            )
        results = results.with_notes(notes)
    return results.to_json()


class LocalPool:
    """Worker processes on this machine; a broken pool is replaced and its jobs resubmitted."""

    def __init__(self, workers: int):
        self.workers = workers
        self.pool = self._new()

    def _new(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, initializer=_die_with_parent, max_tasks_per_child=200)

    def map(self, subs: list[Submission], isolation: str) -> Iterator[tuple[Submission, str]]:
        pending: dict[Future[str], tuple[Submission, int]] = {}
        queue = [(s, 0) for s in subs]

        def fill() -> None:
            while queue and len(pending) < self.workers * 2:
                s, tries = queue.pop(0)
                fut = self.pool.submit(grade_path, str(s.path) if s.path else None, s.note, isolation)
                pending[fut] = (s, tries)

        fill()
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                if fut not in pending:  # already requeued: the pool broke under an earlier one
                    continue
                s, tries = pending.pop(fut)
                try:
                    yield s, fut.result()
                except Exception as exc:  # a worker died (e.g. BrokenProcessPool): retry once
                    self.pool.shutdown(wait=False, cancel_futures=True)
                    self.pool = self._new()
                    for f, (s2, t2) in list(pending.items()):
                        queue.append((s2, t2))
                        pending.pop(f)
                    if tries < 1:
                        queue.append((s, tries + 1))
                    else:
                        why = f"採点プロセスが異常終了しました（{type(exc).__name__}）"
                        yield s, Results.empty(load_rubric(), why, isolation).to_json()
            fill()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class DaskPool:
    """An existing Dask cluster: the same grading function runs on its workers."""

    def __init__(self, address: str):
        from distributed import Client

        self.client = Client(address, timeout="30s")  # type: ignore[no-untyped-call]

    def map(self, subs: list[Submission], isolation: str) -> Iterator[tuple[Submission, str]]:
        from distributed import as_completed

        futures = {
            self.client.submit(
                grade_path,
                str(s.path) if s.path else None,
                s.note,
                isolation,
                key=f"grade-{s.student}-{s.sha256[:16]}",
                pure=False,
            ): s
            for s in subs
        }
        for fut in as_completed(futures):  # type: ignore[no-untyped-call]
            s = futures[fut]
            try:
                yield s, fut.result()
            except Exception as exc:
                why = f"採点ワーカーが異常終了しました（{type(exc).__name__}）"
                yield s, Results.empty(load_rubric(), why, isolation).to_json()

    def close(self) -> None:
        self.client.close()  # type: ignore[no-untyped-call]


# -- writing (coordinator only) ------------------------------------------------------------------


def write_autograded(root: Path, assignment: str, sub: Submission, results: Results) -> None:
    """autograded/<student>/<assignment>/<notebook>.ipynb: the submission (or, if refused, the
    release) with the judge's verdict in its test cells. Written atomically."""
    rubric = load_rubric()
    release = json.loads((root / "release" / assignment / f"{rubric.notebook}.ipynb").read_text(encoding="utf-8"))
    nb = release
    if sub.path is not None and not results.refused:
        try:
            nb = read_normalised(sub.path)[0]
        except SubmissionError:  # refused (changed since it was graded): the release carries the verdict
            nb = json.loads(json.dumps(release))
    for cell in nb["cells"]:  # the student's outputs are not the judge's: drop them (and their size)
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
    from .nbgrader_ext import apply_results  # imports nbgrader: coordinator only, not workers

    apply_results(nb, results)
    add_memo(nb, results.messages())
    out = root / "autograded" / sub.student / assignment / f"{rubric.notebook}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".ipynb.tmp")
    tmp.write_bytes(json.dumps(nb, ensure_ascii=False, indent=1).encode("utf-8", "replace"))
    os.replace(tmp, out)
    stamp = out.parent / "timestamp.txt"
    if sub.timestamp:
        stamp.write_text(sub.timestamp, encoding="utf-8")
    elif stamp.exists():  # a rerun without a (valid) timestamp: drop the old one
        stamp.unlink()


def save(root: Path, assignment: str, book: Any, sub: Submission, results: Results) -> Results | None:
    """Write and record one submission. A failure there is this student's only: tried again
    without the timestamp, then as 0 with the reason. Returns what was recorded (None if nothing
    could be: logged, and the student is graded again on the next run)."""
    from dataclasses import replace

    errors: list[str] = []
    for attempt in range(3):
        if attempt == 1:
            sub = replace(sub, timestamp=None)
            results = results.with_notes(["提出時刻を記録できなかったため、提出時刻なしで採点しました"])
        elif attempt == 2:
            why = f"採点結果を記録できませんでした（{errors[0]}）。担当教員に連絡してください"
            results = Results.empty(load_rubric(), why, results.isolation)
        try:
            write_autograded(root, assignment, sub, results)
            book.record(assignment, sub.student, sub.sha256, results, sub.timestamp)
            return results
        except Exception as exc:  # the gradebook rolled this submission back
            errors.append(type(exc).__name__)
            print(
                f"error: recording {shown(sub.student)} (attempt {attempt + 1}): {type(exc).__name__}: "
                f"{shown(str(exc))[:300]}",
                file=sys.stderr,
            )
    return None


def run_batch(
    root: Path,
    assignment: str,
    db_url: str,
    workers: int = 2,
    dask: str | None = None,
    isolation: str = "auto",
    feedback: bool = True,
    progress: bool = True,
    course_id: str = "",
) -> dict[str, Any]:
    from tqdm import tqdm

    from .gradebook import JudgeGradebook

    start = time.monotonic()
    root = Path(root).resolve()
    subs = discover(root, assignment)
    with JudgeGradebook(db_url, course_id) as book:
        book.check_assignment(assignment)
        done_before = book.graded(assignment)
        todo = [s for s in subs if done_before.get(s.student) != s.sha256]
        pool = DaskPool(dask) if dask else LocalPool(workers)
        failures: Counter[str] = Counter()
        scores: dict[str, float] = {}
        bar = tqdm(total=len(todo), desc="採点", unit="件", disable=not progress, dynamic_ncols=True)
        try:
            for sub, text in pool.map(todo, isolation):
                results = save(root, assignment, book, sub, Results.from_json(text))
                if results is None:
                    failures[sub.student] += 1
                    bar.update(1)
                    continue
                scores[sub.student] = results.score
                if results.failed:
                    failures[sub.student] += 1
                bar.update(1)
                bar.set_postfix(失敗=len(failures))
        finally:
            bar.close()
            pool.close()
    no_feedback = generate_feedback(root, assignment, db_url) if feedback and scores else []
    return {
        "submissions": len(subs),
        "graded": len(scores),
        "skipped": len(subs) - len(todo),
        "failures": sorted(failures),
        "scores": scores,
        "seconds": time.monotonic() - start,
        "feedback_failures": no_feedback,
    }


def summary_table(summary: dict[str, Any]) -> str:
    scores = list(summary["scores"].values())
    mean = sum(scores) / len(scores) if scores else 0.0
    rows = [
        ("提出", summary["submissions"]),
        ("今回採点", summary["graded"]),
        ("変更なしで省略", summary["skipped"]),
        ("採点に問題あり", len(summary["failures"])),
        ("平均点（今回採点分）", f"{mean:.2f}"),
        ("所要時間", f"{summary['seconds']:.1f} s"),
    ]
    width = max(len(k) for k, _ in rows) + 2
    lines = [f"{k:<{width}}{v}" for k, v in rows]
    if summary["failures"]:
        lines.append("問題のあった提出: " + ", ".join(summary["failures"][:20]))
    if summary.get("feedback_failures"):
        lines.append("フィードバックを作れなかった提出: " + ", ".join(summary["feedback_failures"][:20]))
    return "\n".join(lines)
