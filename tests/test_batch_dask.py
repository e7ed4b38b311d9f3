"""The batch on a real Dask cluster gives the same gradebook as local workers, each result once.

A `dask scheduler` and two `dask worker` processes (one process, one thread each) on loopback;
`python -m autograder batch ... --dask tcp://127.0.0.1:PORT` grades a temporary course (correct,
buggy, a hanging backward, the untouched release, not JSON). Its gradebook snapshot (scores,
comments, content hashes) equals a local run's (`--workers 2`); an SQLite trigger on the journal
counts one insert per submission; the workers' own task logs show each grading task ran once
and both workers took part. Everything started here is stopped (terminate, then kill) and no
process of the course (found by a marker folder in TMPDIR), the workers' fork-server sandboxes
included, is left behind.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autograder.course.assignment import ROOT
from autograder.tools.build import nbgrader_env
from tests.batch_run import kill_leftovers, refused_exit, wait_no_processes
from tests.course import batch_cmd, install_journal_log, journal_count, journal_log, make_course
from tests.nb74 import NB74
from tests.submissions import RELEASE, answer_source, make_submission

pytestmark = pytest.mark.slow

RUBRIC = NB74.rubric
A, NB = RUBRIC.assignment, f"{RUBRIC.notebook}.ipynb"
BIN = Path(sys.executable).parent
LINEAR = answer_source("linear")
SUBMISSIONS: dict[str, Any] = {
    "hang": {
        "linear": LINEAR.replace(
            "        x = self.cache['x']\n", "        x = self.cache['x']\n        while True:\n            pass\n"
        )
    },
    "ok": {},
    "linear-dw": {"linear": LINEAR.replace("x.T @ dout", "2 * x.T @ dout")},
    "sigmoid": {"sigmoid": answer_source("sigmoid").replace("y * (1 - y)", "y * (1 + y)")},
    "mse": {"mse": answer_source("mse").replace("/ y.size", "/ y.shape[0]")},
    "release": "release",
    "notjson": "notjson",
}


def write_submission(course: Path, student: str, spec: Any) -> None:
    path = course / "submitted" / student / A / NB
    path.parent.mkdir(parents=True, exist_ok=True)
    if spec == "release":
        shutil.copy(RELEASE, path)
    elif spec == "notjson":
        path.write_text("{ not a notebook", encoding="utf-8")
    else:
        make_submission(path, spec)


def snapshot(course: Path) -> dict[str, Any]:
    from autograder.routes.nbgrader_hooks.gradebook import JudgeGradebook

    with JudgeGradebook(f"sqlite:///{course / 'gradebook.db'}") as book:
        return book.snapshot(A)


def stop(procs: list[subprocess.Popen]) -> None:
    """Terminate, give 15 s, then kill: each process and the session it was started in."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    deadline = time.monotonic() + 15
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for p in procs:
        try:  # its own session (start_new_session): the nanny's worker process goes too
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if p.poll() is None:
            p.kill()
        p.wait(timeout=15)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp(f"nb74dask{uuid.uuid4().hex[:10]}", numbered=False)
    (path / "tmp").mkdir()
    yield path
    kill_leftovers(path.name)  # whatever survived a failed test: by pid


@pytest.fixture(scope="module")
def env(workspace) -> dict[str, str]:
    return {**nbgrader_env(), "TMPDIR": str(workspace / "tmp"), "PYTHONPATH": str(ROOT)}


@pytest.fixture(scope="module")
def pristine(workspace) -> Path:
    course = workspace / "pristine"
    make_course(course)  # nbgrader generate_assignment (once per run: tests/course.py)
    for student, spec in SUBMISSIONS.items():
        write_submission(course, student, spec)
    install_journal_log(course / "gradebook.db")
    return course


@pytest.fixture(scope="module")
def cluster(workspace, env) -> Iterator[str]:
    """A scheduler and two workers on loopback; yields the scheduler's address."""
    scheduler_file = workspace / "scheduler.json"
    logs = workspace / "logs"
    logs.mkdir()
    procs: list[subprocess.Popen] = []

    def launch(name: str, cmd: list[str]) -> None:
        with (logs / f"{name}.log").open("wb") as log:
            procs.append(
                subprocess.Popen(
                    cmd,
                    cwd=ROOT,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    try:
        launch(
            "scheduler",
            [
                str(BIN / "dask"),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(scheduler_file),
            ],
        )
        deadline = time.monotonic() + 120
        while not scheduler_file.exists() and time.monotonic() < deadline:
            assert procs[0].poll() is None, (logs / "scheduler.log").read_text(errors="replace")
            time.sleep(0.1)
        time.sleep(0.2)  # the file is written in one go; give it a moment to be complete
        address = json.loads(scheduler_file.read_text())["address"]
        assert re.fullmatch(r"tcp://127\.0\.0\.1:\d+", address), address
        for i in (1, 2):
            launch(
                f"worker{i}",
                [
                    str(BIN / "dask"),
                    "worker",
                    address,
                    "--name",
                    f"w{i}",
                    "--nworkers",
                    "1",
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--local-directory",
                    str(workspace / f"w{i}"),
                ],
            )
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=180)
        yield address
    finally:
        stop(procs)
    left = wait_no_processes(workspace.name, grace=15)
    assert left == [], f"still running after the cluster was stopped: {left}"


def task_log(address: str) -> dict[str, list[str]]:
    """{worker name: keys of the grading tasks it executed} from the workers' transition logs."""
    from distributed import Client

    def executed(dask_worker) -> list[str]:
        keys = {
            str(entry[0])
            for entry in dask_worker.state.log
            if len(entry) >= 3 and entry[2] == "memory" and str(entry[0]).startswith("grade-")
        }
        return sorted(keys)

    with Client(address, timeout="60s") as client:
        by_address = client.run(executed)
        names = {a: w["name"] for a, w in client.scheduler_info()["workers"].items()}
    return {names[a]: keys for a, keys in by_address.items()}


def run(course: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        batch_cmd(course, "--no-feedback", *args), cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == refused_exit(done.stdout), f"{done.stdout}\n{done.stderr}"
    return done.stdout


def test_dask_cluster_grades_like_local_workers(pristine, cluster, workspace, env):
    local = workspace / "local"
    shutil.copytree(pristine, local)
    run(local, env, "--workers", "2")

    dask = workspace / "dask"
    shutil.copytree(pristine, dask)
    out = run(dask, env, "--dask", cluster)
    n = len(SUBMISSIONS)
    assert re.search(rf"^今回採点\s+{n}\s*$", out, re.M), out

    expected = snapshot(local)
    assert sorted(expected) == sorted(SUBMISSIONS)
    assert len({json.dumps(row["grades"]) for row in expected.values()}) >= 4  # students differ
    assert snapshot(dask) == expected

    # written once: one journal row and one insert per submission
    assert journal_count(dask / "gradebook.db") == n
    assert journal_log(dask / "gradebook.db") == sorted(SUBMISSIONS)
    assert sorted(p.parent.parent.name for p in (dask / "autograded").glob(f"*/{A}/{NB}")) == sorted(SUBMISSIONS)
    # computed on the cluster, once per submission, by both workers
    executed = task_log(cluster)
    keys = [k for ks in executed.values() for k in ks]
    assert len(keys) == len(set(keys)) == n, executed
    assert sorted(executed) == ["w1", "w2"] and all(executed.values()), executed
    # a second run against the cluster grades nothing
    again = run(dask, env, "--dask", cluster)
    assert re.search(r"^今回採点\s+0\s*$", again, re.M), again
    assert journal_log(dask / "gradebook.db") == sorted(SUBMISSIONS)
