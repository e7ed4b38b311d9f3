"""Running `python -m autograder batch` as a process and watching its processes: the helpers of
tests/test_batch_resume.py and tests/test_postgres_gradebook.py."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from autograder.tools.build import nbgrader_env
from tests.course import batch_cmd as course_batch_cmd
from tests.nb74 import NB74
from tests.submissions import answer_source

WORKERS = 2


# Seconds a killed coordinator's workers and sandboxes get to disappear. Most go at once; a worker
# still starting (spawned, importing nbgrader: seconds on a loaded machine) goes when it gets to
# its initializer, which sees its parent gone.
ORPHAN_GRACE = 30.0


LINEAR = answer_source("linear")
HANG = LINEAR.replace(
    "        x = self.cache['x']\n", "        x = self.cache['x']\n        while True:\n            pass\n"
)

RUBRIC = NB74.rubric
A, NB = RUBRIC.assignment, f"{RUBRIC.notebook}.ipynb"


SUMMARY = {"submissions": "提出", "graded": "今回採点", "skipped": "変更なしで省略"}


def batch_cmd(course: Path) -> list[str]:
    """The batch as these tests run it: WORKERS workers, no feedback (tests/course.py's command line)."""
    return course_batch_cmd(course, "--workers", str(WORKERS), "--no-feedback")


def batch_env(course: Path) -> dict[str, str]:
    return {**nbgrader_env(), "TMPDIR": str(course / "tmp")}


def parse_summary(text: str) -> dict[str, int]:
    counts = {}
    for key, label in SUMMARY.items():
        m = re.search(rf"^{label}\s+(\d+)\s*$", text, re.M)
        assert m, f"no {label!r} line in the summary:\n{text}"
        counts[key] = int(m.group(1))
    return counts


def refused_exit(report: str) -> int:
    """The batch's exit code: 1 when a submission it graded this run could not be graded at all
    (here only the not-JSON one; a hang or crash is graded 0 with why), else 0."""
    problems = next((line for line in report.splitlines() if line.startswith("問題のあった提出:")), "")
    return 1 if "notjson" in problems else 0


def course_processes(marker: str, known: frozenset[tuple[int, str]] = frozenset()) -> list[str]:
    """Live processes of a course, as "pid start: command line".

    A process belongs to the course when the marker is in its environment (TMPDIR: the coordinator,
    its spawned workers, multiprocessing's resource tracker), command line or working folder (bwrap),
    or mount table (a runner seeing a host folder); or when it descends from such a process (the
    fork server's master inside bwrap sees no host folder at all); or when it is one of `known`
    (pid, start time) pairs, e.g. the process tree just before a SIGKILL."""
    live, key = _live_processes(), marker.encode()
    ours = {pid for pid, (_, start) in live.items() if (pid, start) in known or _marked(pid, key)}
    grew = True
    while grew:  # descendants of ours
        more = {pid for pid, (ppid, _) in live.items() if ppid in ours and pid not in ours}
        ours |= more
        grew = bool(more)
    found = []
    for pid in sorted(ours):
        try:
            cmd = (Path("/proc") / str(pid) / "cmdline").read_bytes()
        except OSError:
            continue
        found.append(f"{pid} {live[pid][1]}: {cmd.replace(bytes(1), b' ').decode('utf-8', 'replace')[:160]}")
    return found


def keys(processes: list[str]) -> frozenset[tuple[int, str]]:
    return frozenset((int(p.split()[0]), p.split()[1].rstrip(":")) for p in processes)


def wait_no_processes(
    marker: str, known: frozenset[tuple[int, str]] = frozenset(), grace: float = ORPHAN_GRACE
) -> list[str]:
    deadline = time.monotonic() + grace
    while True:
        left = course_processes(marker, known)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def sigkill(proc: subprocess.Popen) -> None:
    """SIGKILL the coordinator only (never its group): its workers must go by themselves."""
    try:
        os.kill(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


def marked_workspace(tmp_path_factory: pytest.TempPathFactory, prefix: str) -> Iterator[Path]:
    """A folder with a unique name, which marks this module's processes (the batch's TMPDIR):
    concurrent runs of the suite must not see each other's; what is left of them is killed."""
    path = tmp_path_factory.mktemp(f"{prefix}{uuid.uuid4().hex[:10]}", numbered=False)
    yield path
    kill_leftovers(path.name)


def _live_processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, start time) of every live process but this one (zombies left out)."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            stat = (Path("/proc") / entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if fields and fields[0] not in "ZX":
            out[int(entry)] = (int(fields[1]), fields[19])
    return out


def _marked(pid: int, key: bytes) -> bool:
    proc = Path("/proc") / str(pid)
    try:
        return (
            key in (proc / "cmdline").read_bytes()
            or key in (proc / "environ").read_bytes()
            or key.decode() in os.readlink(proc / "cwd")
            or key.decode() in (proc / "mountinfo").read_text(errors="replace")
        )
    except OSError:
        return False


def kill_leftovers(marker: str) -> None:
    """After a failed check: SIGKILL what is left of this test's processes, by pid."""
    for line in course_processes(marker):
        try:
            os.kill(int(line.split()[0]), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
