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
import signal
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from .assignment import ROOT, load_rubric

ISOLATION = "auto"


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path | None            # the notebook graded, None if there is none
    note: str                    # why this file (several notebooks, another name), or ""
    sha256: str                  # identifies the content: a resubmission is graded again
    timestamp: str | None


def _hash(path: Path | None, note: str) -> str:
    h = hashlib.sha256(note.encode())
    if path is not None:
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def choose_notebook(folder: Path, expected: str) -> tuple[Path | None, str]:
    """The notebook to grade in a student's folder, and a note when the choice was not obvious."""
    found = sorted(p for p in folder.glob("*.ipynb") if p.is_file())
    if not found:
        return None, "提出フォルダにノートブック（.ipynb）がありません"
    if len(found) == 1:
        only = found[0]
        return only, "" if only.name == expected else f"ファイル名が「{only.name}」でした（{expected} として採点）"
    names = "、".join(p.name for p in found)
    exact = folder / expected
    if exact in found:
        return exact, f"ノートブックが {len(found)} 個ありました（{names}）。{expected} を採点しました"
    newest = max(found, key=lambda p: (p.stat().st_mtime, p.name))
    return newest, f"ノートブックが {len(found)} 個ありました（{names}）。最も新しい {newest.name} を採点しました"


def discover(root: Path, assignment: str) -> list[Submission]:
    expected = f"{load_rubric().notebook}.ipynb"
    subs = []
    for folder in sorted((root / "submitted").glob(f"*/{assignment}")):
        if not folder.is_dir():
            continue
        path, note = choose_notebook(folder, expected)
        stamp = folder / "timestamp.txt"
        timestamp = stamp.read_text(encoding="utf-8").strip() if stamp.is_file() else None
        subs.append(Submission(folder.parent.name, path, note, _hash(path, note), timestamp))
    return subs


# -- grading (runs in workers: local processes or Dask) -------------------------------------------

def _die_with_parent() -> None:
    """Worker initializer: a SIGKILLed coordinator takes its workers (and their sandboxes) along."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass
    # A coordinator killed while this worker was still starting (seconds: spawn and imports) sent
    # no signal: prctl came too late. Its tasks would still be graded and the worker wait forever.
    import multiprocessing
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:
        os._exit(1)


_SERVERS: dict[str, Any] = {}  # per worker process: one ForkServer (sandbox) per isolation level


def grade_path(path: str | None, note: str, isolation: str = ISOLATION) -> str:
    """Grade one notebook and return the results as JSON text (plain data between processes).

    Runs in a worker (local or Dask), which keeps one ForkServer: each submission then gets a
    fresh student process forked in milliseconds instead of a new sandbox and interpreter."""
    from .judge import _empty_results, grade_notebook
    from .student import ForkServer
    if path is None:
        results = _empty_results(load_rubric(), note, isolation)
    else:
        try:
            if isolation not in _SERVERS:
                _SERVERS[isolation] = ForkServer(isolation)
            results = grade_notebook(Path(path), isolation=isolation, server=_SERVERS[isolation])
        except Exception as exc:  # the judge itself failed: record it, never stop the batch
            results = _empty_results(load_rubric(), f"採点中にエラーが発生しました（{type(exc).__name__}）。"
                                                    "担当教員に連絡してください", isolation)
        if note:
            results["notes"] = [note]
    return json.dumps(results, ensure_ascii=False, sort_keys=True)


class LocalPool:
    """Worker processes on this machine; a broken pool is replaced and its jobs resubmitted."""

    def __init__(self, workers: int):
        self.workers = workers
        self.pool = self._new()

    def _new(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, initializer=_die_with_parent, max_tasks_per_child=200)

    def map(self, subs: list[Submission], isolation: str) -> Iterator[tuple[Submission, str]]:
        pending: dict[Future, tuple[Submission, int]] = {}
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
                        from .judge import _empty_results
                        res = _empty_results(load_rubric(), f"採点プロセスが異常終了しました（{type(exc).__name__}）", isolation)
                        yield s, json.dumps(res, ensure_ascii=False, sort_keys=True)
            fill()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class DaskPool:
    """An existing Dask cluster: the same grading function runs on its workers."""

    def __init__(self, address: str):
        from distributed import Client
        self.client = Client(address, timeout="30s")

    def map(self, subs: list[Submission], isolation: str) -> Iterator[tuple[Submission, str]]:
        from distributed import as_completed
        futures = {self.client.submit(grade_path, str(s.path) if s.path else None, s.note, isolation,
                                      key=f"grade-{s.student}-{s.sha256[:16]}", pure=False): s
                   for s in subs}
        for fut in as_completed(futures):
            s = futures[fut]
            try:
                yield s, fut.result()
            except Exception as exc:
                from .judge import _empty_results
                res = _empty_results(load_rubric(), f"採点ワーカーが異常終了しました（{type(exc).__name__}）", isolation)
                yield s, json.dumps(res, ensure_ascii=False, sort_keys=True)

    def close(self) -> None:
        self.client.close()


# -- writing (coordinator only) ------------------------------------------------------------------

def write_autograded(root: Path, assignment: str, sub: Submission, results: dict[str, Any]) -> None:
    """autograded/<student>/<assignment>/<notebook>.ipynb: the submission (or, if unreadable, the
    release) with the judge's verdict in its test cells. Written atomically."""
    from .judge import SubmissionError, read_submission
    rubric = load_rubric()
    release = json.loads((root / "release" / assignment / f"{rubric.notebook}.ipynb").read_text(encoding="utf-8"))
    try:
        nb = as_released(read_submission(sub.path), release) if sub.path else release
    except (SubmissionError, ValueError):  # unreadable or malformed: the release carries the verdict
        nb = release
    for cell in nb["cells"]:  # the student's outputs are not the judge's: drop them (and their size)
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
    from .nbgrader_ext import apply_results  # imports nbgrader: coordinator only, not workers
    apply_results(nb, results)
    messages = [*results.get("notes", []), *results.get("problems", [])]
    if messages:  # submission-level messages lead the notebook, so feedback shows them first
        from .sanitize import bounded, markdown_escape  # they quote file names and exceptions
        text = "### 採点メモ\n\n" + "\n".join(f"- {markdown_escape(bounded(m))}" for m in messages[:20])
        nb["cells"].insert(0, {"cell_type": "markdown", "metadata": {}, "source": text})
    out = root / "autograded" / sub.student / assignment / f"{rubric.notebook}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".ipynb.tmp")
    tmp.write_text(json.dumps(nb, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, out)
    if sub.timestamp:
        (out.parent / "timestamp.txt").write_text(sub.timestamp, encoding="utf-8")


def as_released(nb: dict[str, Any], release: dict[str, Any]) -> dict[str, Any]:
    """Like nbgrader's OverwriteCells: locked and test cells as released, and no nbgrader metadata on
    cells the release does not have (a renamed or duplicated grade_id makes nbgrader's
    generate_feedback fail for the student). The judge never read these cells anyway."""
    from .judge import grade_id
    if not all(isinstance(c, dict) and isinstance(c.get("metadata", {}), dict) for c in nb["cells"]):
        raise ValueError("malformed cells")
    released = {grade_id(c): c for c in release["cells"] if grade_id(c)}
    seen: set[str] = set()
    for cell in nb["cells"]:
        gid = grade_id(cell)
        if not gid or gid not in released or gid in seen:
            cell.setdefault("metadata", {}).pop("nbgrader", None)
            continue
        seen.add(gid)
        orig = released[gid]
        meta = orig["metadata"]["nbgrader"]
        cell["metadata"]["nbgrader"] = dict(meta)
        if (meta.get("locked") or (meta.get("grade") and not meta.get("solution"))) \
                and cell.get("cell_type") == orig.get("cell_type"):
            cell["source"] = orig["source"]
    return nb


def is_failure(results: dict[str, Any]) -> bool:
    """A submission that could not be graded normally (unreadable, crashed, hung...)."""
    return bool(results.get("problems"))


def generate_feedback(root: Path, assignment: str, db_url: str) -> list[str]:
    """nbgrader's own feedback (HTML, hidden tests cleared) from autograded/ and the gradebook.

    Returns the students nbgrader could make no feedback for (nbgrader goes on with the others;
    so does the batch, whose grades are already recorded)."""
    import re
    import subprocess
    import sys
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
    # run from the kit's folder so that its nbgrader_config.py (ClearHiddenTests) applies
    done = subprocess.run([sys.executable, "-m", "nbgrader", "generate_feedback", assignment, "--force",
                           f"--CourseDirectory.root={root}", f"--CourseDirectory.db_url={db_url}"],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode == 0:
        return []
    failed = re.findall(r"error processing assignment '[^']*' for student '([^']*)'", done.stderr + done.stdout)
    return sorted(set(failed)) or ["（nbgrader generate_feedback が失敗しました: " + done.stderr.strip()[-300:] + "）"]


def run_batch(root: Path, assignment: str, db_url: str, workers: int = 2, dask: str | None = None,
              isolation: str = ISOLATION, feedback: bool = True, progress: bool = True,
              course_id: str = "") -> dict[str, Any]:
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
                results = json.loads(text)
                write_autograded(root, assignment, sub, results)
                book.record(assignment, sub.student, sub.sha256, results, sub.timestamp)
                scores[sub.student] = results["score"]
                if is_failure(results):
                    failures[sub.student] += 1
                bar.update(1)
                bar.set_postfix(失敗=len(failures))
        finally:
            bar.close()
            pool.close()
    no_feedback = generate_feedback(root, assignment, db_url) if feedback and scores else []
    return {"submissions": len(subs), "graded": len(scores), "skipped": len(subs) - len(todo),
            "failures": sorted(failures), "scores": scores, "seconds": time.monotonic() - start,
            "feedback_failures": no_feedback}


def summary_table(summary: dict[str, Any]) -> str:
    scores = list(summary["scores"].values())
    mean = sum(scores) / len(scores) if scores else 0.0
    rows = [("提出", summary["submissions"]), ("今回採点", summary["graded"]),
            ("変更なしで省略", summary["skipped"]), ("採点に問題あり", len(summary["failures"])),
            ("平均点（今回採点分）", f"{mean:.2f}"), ("所要時間", f"{summary['seconds']:.1f} s")]
    width = max(len(k) for k, _ in rows) + 2
    lines = [f"{k:<{width}}{v}" for k, v in rows]
    if summary["failures"]:
        lines.append("問題のあった提出: " + ", ".join(summary["failures"][:20]))
    if summary.get("feedback_failures"):
        lines.append("フィードバックを作れなかった提出: " + ", ".join(summary["feedback_failures"][:20]))
    return "\n".join(lines)
