"""The batch survives SIGKILL of its coordinator: nothing lost, nothing counted twice, no orphans.

A temporary course (nbgrader generate_assignment from the committed source) holds 12 submissions:
correct ones, buggy variants (one answer cell replaced), the untouched release, one whose
Linear.backward never returns (costs one call timeout, ~5 s) and one file that is not JSON.

- Reference: one uninterrupted `python -m autograder batch` into gradebook A (its wall time T).
- Gradebook B: the batch started as a subprocess and its coordinator (only that pid) SIGKILLed,
  six times in a row, each run resuming the last: once as soon as a sandbox is alive, then at
  five seeded random moments spread over each run's expected duration (from T and what is left
  to grade). Then one run to completion: it grades exactly what
  the killed runs had not committed; B's snapshot (scores, comments, content hashes) and the
  autograded notebooks equal A's; an SQLite trigger on the journal shows every submission was
  recorded exactly once.
- After each SIGKILL the workers and their sandboxes die by themselves (PR_SET_PDEATHSIG,
  bwrap --die-with-parent): no process of this course remains shortly after.
- A second run grades nothing; a resubmission (changed content) is the only one graded again.

Processes of a course are recognised by a unique marker folder: the batch runs with TMPDIR inside
it, so the marker is in the environment of the coordinator and its (spawned) workers, and in
bwrap's working folder or command line; processes descending from those (the sandboxed runner)
count too, and so does every process seen in the tree just before a kill.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autograder.course.assignment import ROOT
from tests.batch_run import (
    HANG,
    LINEAR,
    ORPHAN_GRACE,
    _live_processes,
    batch_cmd,
    batch_env,
    course_processes,
    keys,
    marked_workspace,
    parse_summary,
    refused_exit,
    sigkill,
    wait_no_processes,
)
from tests.course import install_journal_log, journal_count, journal_log, make_course
from tests.nb74 import NB74
from tests.submissions import RELEASE, answer_source, make_submission

pytestmark = pytest.mark.slow

RUBRIC = NB74.rubric
A, NB = RUBRIC.assignment, f"{RUBRIC.notebook}.ipynb"
SEED = 74
ROUNDS = 5

# student -> the submission: answer cells replaced in the solution, or "release" / "notjson"
SUBMISSIONS: dict[str, Any] = {
    "a00-hang": {"linear": HANG},  # first in the sorted order: starts at once, holds a sandbox ~5 s
    "b01-ok": {},
    "b02-ok": {},  # same content as b01: the journal is per student, not per content
    "c03-linear-dw": {"linear": LINEAR.replace("x.T @ dout", "2 * x.T @ dout")},
    "c04-linear-db": {"linear": LINEAR.replace("np.sum(dout, axis=0)", "np.mean(dout, axis=0)")},
    "c05-linear-dx": {"linear": LINEAR.replace("self.params['W'].T", "self.params['W']")},
    "d06-sigmoid": {"sigmoid": answer_source("sigmoid").replace("y * (1 - y)", "y * (1 + y)")},
    "d07-relu": {"relu": answer_source("relu").replace("dout * self.cache['mask']", "dout")},
    "d08-tanh": {"tanh": answer_source("tanh").replace("(1 - y ** 2)", "(1 - y)")},
    "d09-mse": {"mse": answer_source("mse").replace("/ y.size", "/ y.shape[0]")},
    "e10-release": "release",
    "e11-notjson": "notjson",
}
for _spec in SUBMISSIONS.values():  # a variant whose replace() matched nothing would be a copy
    assert not isinstance(_spec, dict) or all(src != answer_source(c) for c, src in _spec.items())


# -- a temporary course ----------------------------------------------------------------------------


def write_submission(course: Path, student: str, spec: Any) -> Path:
    path = course / "submitted" / student / A / NB
    path.parent.mkdir(parents=True, exist_ok=True)
    if spec == "release":
        shutil.copy(RELEASE, path)
    elif spec == "notjson":
        path.write_text("これはノートブックではありません {\n", encoding="utf-8")
    else:
        make_submission(path, spec)
    return path


def copy_course(pristine: Path, dest: Path) -> Path:
    shutil.copytree(pristine, dest)
    (dest / "tmp").mkdir(exist_ok=True)
    return dest


def start_batch(course: Path) -> subprocess.Popen:
    """Output to files, not pipes: an orphaned worker holding a pipe would hang the test."""
    with (course / "killed.out").open("wb") as out:
        return subprocess.Popen(
            batch_cmd(course),
            cwd=ROOT,
            env=batch_env(course),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def run_batch(course: Path) -> tuple[dict[str, int], float]:
    """Run the batch to completion; its summary counts and its wall time."""
    start = time.monotonic()
    done = subprocess.run(
        batch_cmd(course), cwd=ROOT, env=batch_env(course), text=True, capture_output=True, timeout=300
    )
    wall = time.monotonic() - start
    assert done.returncode == refused_exit(done.stdout), f"batch failed:\n{done.stdout}\n{done.stderr}"
    return parse_summary(done.stdout), wall


def snapshot(course: Path) -> dict[str, Any]:
    from autograder.routes.nbgrader_hooks.gradebook import JudgeGradebook

    with JudgeGradebook(f"sqlite:///{course / 'gradebook.db'}") as book:
        return book.snapshot(A)


def autograded(course: Path) -> dict[str, str]:
    base = course / "autograded"
    return {str(p.relative_to(base)): p.read_text(encoding="utf-8") for p in sorted(base.rglob("*")) if p.is_file()}


# -- processes of a course -------------------------------------------------------------------------


# -- fixtures --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Iterator[Path]:
    yield from marked_workspace(tmp_path_factory, "nb74batch")


@pytest.fixture(scope="module")
def pristine(workspace) -> Path:
    """The course before any grading: release generated, submissions in place, journal logged."""
    course = workspace / "pristine"
    make_course(course)  # nbgrader generate_assignment (once per run: tests/course.py)
    for student, spec in SUBMISSIONS.items():
        write_submission(course, student, spec)
    install_journal_log(course / "gradebook.db")
    return course


@pytest.fixture(scope="module")
def reference(pristine, workspace) -> dict[str, Any]:
    """Gradebook A: one uninterrupted run."""
    course = copy_course(pristine, workspace / "A")
    counts, wall = run_batch(course)
    assert counts == {"submissions": len(SUBMISSIONS), "graded": len(SUBMISSIONS), "skipped": 0}
    snap = snapshot(course)
    assert sorted(snap) == sorted(SUBMISSIONS)
    assert journal_log(course / "gradebook.db") == sorted(SUBMISSIONS)
    assert wait_no_processes(workspace.name) == []
    return {"course": course, "snapshot": snap, "autograded": autograded(course), "wall": wall}


# -- tests -----------------------------------------------------------------------------------------


def test_reference_run_tells_submissions_apart(reference):
    """Guards the comparisons below: a gradebook where every student looks alike proves little."""
    snap = reference["snapshot"]
    assert all(row["sha256"] for row in snap.values())
    linear = {s: dict((g[0], g[1]) for g in row["grades"])["test_linear"] for s, row in snap.items()}
    assert linear["b01-ok"] > 0 and linear["b01-ok"] == linear["b02-ok"]
    assert linear["a00-hang"] == linear["e10-release"] == linear["e11-notjson"] == 0
    assert linear["c03-linear-dw"] < linear["b01-ok"]
    assert all(g[1] == 0 for g in snap["e11-notjson"]["grades"])
    assert any("JSON" in c for _, c in snap["e11-notjson"]["comments"])
    assert len({json.dumps(row["comments"]) for row in snap.values()}) >= 5
    assert len(reference["autograded"]) == len(SUBMISSIONS)


def kill_round(course: Path, marker: str, moment: float | None) -> dict[str, Any]:
    """Start the batch, SIGKILL its coordinator at `moment` seconds (None: as soon as a sandbox
    is alive), check that nothing of it survives; what was alive and committed."""
    proc = start_batch(course)
    started, sandboxes = time.monotonic(), []
    try:
        if moment is None:
            while not sandboxes and proc.poll() is None and time.monotonic() - started < 120:
                sandboxes = [p for p in course_processes(marker) if "bwrap" in p or "runner.py" in p]
                time.sleep(0.05)
        else:
            proc.wait(timeout=moment)
    except subprocess.TimeoutExpired:
        pass
    finished = proc.poll() is not None  # faster than the reference: nothing left to interrupt
    alive = course_processes(marker)
    at = time.monotonic() - started
    sigkill(proc)
    left = wait_no_processes(marker, keys(alive))
    assert left == [], f"still running {ORPHAN_GRACE:g} s after SIGKILL:\n" + "\n".join(left)
    return {
        "at": at,
        "finished": finished,
        "committed": journal_count(course / "gradebook.db"),
        "workers": sum("spawn_main" in p for p in alive),
        "sandboxes": sum("runner.py" in p for p in alive),
    }


def test_sigkill_at_random_moments_then_resume_equals_one_run(reference, pristine, workspace):
    """One gradebook B through six SIGKILLed runs, each resuming the last, then a full run.

    (A fresh B per moment, each followed by a complete run, costs about six reference runs: over
    the time budget. Chained, every run still starts from a killed one's state.) The first kill
    comes as soon as a sandbox is alive; its time is the start-up S of a run. Then five kills at
    seeded random fractions of each run's expected duration, stratified (the k-th in the k-th
    fifth): S + (T - S) * (share of submissions still to grade), from the reference's wall time T.
    A fraction of the reference's own duration would leave the later runs, with little left to
    grade, finished before their kill."""
    rng = random.Random(SEED)
    wall, n = reference["wall"], len(SUBMISSIONS)
    fractions = [(k + rng.uniform(0.05, 0.95)) / ROUNDS for k in range(ROUNDS)]
    course = copy_course(pristine, workspace / "B")
    marker, log = workspace.name, []
    r = kill_round(course, marker, None)
    startup, committed = min(r["at"], wall), r["committed"]
    log.append(
        f"kill at {r['at']:5.1f} s, as soon as a sandbox ran: {r['workers']} workers, "
        f"{r['sandboxes']} sandboxes alive, finished={r['finished']}, {committed}/{n} committed"
    )
    assert r["sandboxes"] and not r["finished"], log[0]
    for fraction in fractions:
        expected = startup + (wall - startup) * (n - committed) / n
        r = kill_round(course, marker, fraction * expected)
        log.append(
            f"kill at {r['at']:5.1f} s ({fraction:.2f} of {expected:.1f} s): {r['workers']} workers, "
            f"{r['sandboxes']} sandboxes alive, finished={r['finished']}, {r['committed']}/{n} committed"
        )
        assert r["committed"] >= committed, "\n".join(log)  # a commit is never undone
        committed = r["committed"]
    print(f"\nT = {wall:.1f} s, start-up S = {startup:.1f} s\n" + "\n".join(log))
    assert sum("finished=False" in line for line in log) >= 4, "\n".join(log)

    counts, _ = run_batch(course)
    assert counts == {"submissions": n, "graded": n - committed, "skipped": committed}
    assert snapshot(course) == reference["snapshot"]
    assert journal_log(course / "gradebook.db") == sorted(SUBMISSIONS)  # each recorded once
    assert autograded(course) == reference["autograded"]
    assert wait_no_processes(marker) == []


def test_rerun_grades_nothing_and_a_resubmission_only_itself(reference, workspace):
    course = reference["course"]
    counts, _ = run_batch(course)
    assert counts == {"submissions": len(SUBMISSIONS), "graded": 0, "skipped": len(SUBMISSIONS)}
    assert snapshot(course) == reference["snapshot"]

    # d07 fixes its ReLU: new content, so graded again; everyone else untouched
    write_submission(course, "d07-relu", {})
    counts, _ = run_batch(course)
    assert counts == {"submissions": len(SUBMISSIONS), "graded": 1, "skipped": len(SUBMISSIONS) - 1}
    after, before = snapshot(course), reference["snapshot"]
    changed = {s for s in after if after[s] != before[s]}
    assert changed == {"d07-relu"}
    assert after["d07-relu"]["sha256"] == before["b01-ok"]["sha256"]  # now the same file as b01
    assert after["d07-relu"]["grades"] == before["b01-ok"]["grades"]
    assert journal_log(course / "gradebook.db") == sorted([*SUBMISSIONS, "d07-relu"])
    assert wait_no_processes(workspace.name) == []


def test_a_worker_killed_mid_grading_is_replaced(reference, workspace):
    """SIGKILL of one worker while it grades (as the OOM killer would): the pool is replaced, its
    submissions graded again, the batch ends normally with the same grades."""
    course = copy_course(reference["course"], workspace / "worker-crash")
    before, logged = snapshot(course), journal_log(course / "gradebook.db")
    resubmitted = ["c03-linear-dw", "c04-linear-db", "c05-linear-dx", "d08-tanh"]
    for student in resubmitted:  # now the same file as b01's: b01's row is the expected one
        write_submission(course, student, {})
    marker = workspace.name
    proc = start_batch(course)
    try:
        deadline, victim = time.monotonic() + 120, None
        while victim is None and proc.poll() is None and time.monotonic() < deadline:
            live = _live_processes()
            workers = {int(p.split()[0]) for p in course_processes(marker) if "spawn_main" in p}
            for line in course_processes(marker):
                pid = int(line.split()[0])
                if "bwrap" in line and live.get(pid, (0, ""))[0] in workers:
                    victim = live[pid][0]  # a worker with a sandbox: grading (or about to)
                    break
            time.sleep(0.05)
        assert victim is not None, "no worker was seen grading"
        os.kill(victim, signal.SIGKILL)
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            sigkill(proc)
    out = (course / "killed.out").read_text(encoding="utf-8")
    assert proc.returncode == refused_exit(out), out
    assert parse_summary(out) == {
        "submissions": len(SUBMISSIONS),
        "graded": len(resubmitted),
        "skipped": len(SUBMISSIONS) - len(resubmitted),
    }
    after = snapshot(course)
    for student in resubmitted:
        assert after[student] == before["b01-ok"], student
    assert {s: after[s] for s in after if s not in resubmitted} == {
        s: before[s] for s in before if s not in resubmitted
    }
    assert journal_log(course / "gradebook.db") == sorted([*logged, *resubmitted])
    assert wait_no_processes(marker) == []
