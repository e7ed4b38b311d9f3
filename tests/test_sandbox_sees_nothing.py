"""Finding 3: the sandbox sees nothing of the caller, neither its environment nor a host path.

A variable set in the judge's environment (standing in for a JupyterHub token) and the judge's
host paths (repository, venv, interpreter prefix, temporary folders) are searched for by student
code in every place it can read: its environment, every /proc file of every process it can see
(environ, cmdline, mountinfo, ...), sys and sysconfig, module files, the names under / and /tmp.
Through a StudentProcess (one-shot and fork server), `python -m autograder grade`, and
`nbgrader autograde` + `generate_feedback`, where it must not reach the notebook or the feedback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.course.assignment import ROOT
from autograder.course.files import cache_dir
from autograder.sandbox.fork_server import ForkServer
from autograder.sandbox.launch import isolation_level
from autograder.sandbox.process import StudentProcess
from tests import course
from tests.judged import part_scores
from tests.nb74 import NB74
from tests.sandbox_probe import (
    PROBE,
    probe_seen,
)
from tests.submissions import answer_source, make_submission

RUBRIC = NB74.rubric
BWRAP = isolation_level("auto") == "bwrap"
needs_bwrap = pytest.mark.skipif(not BWRAP, reason="needs bubblewrap (required in CI)")
SECRET_NAME, SECRET = "NB74_TEST_SECRET", "hub-token-5f1c0e9d2b7a"


def needles(*extra: str) -> list[str]:
    """The secret and the judge's host paths (its cache folder too), as the student would have to find them."""
    return sorted(
        {
            SECRET,
            SECRET_NAME,
            str(ROOT),
            str(cache_dir()),
            sys.prefix,
            sys.base_prefix,
            os.path.realpath(sys.executable),
            *extra,
        }
        - {"/usr", "/"}
    )


@pytest.fixture
def secret_env(monkeypatch):
    monkeypatch.setenv(SECRET_NAME, SECRET)


@needs_bwrap
def test_one_shot_sandbox_shows_no_secret_and_no_host_path(secret_env):
    with StudentProcess(isolation="bwrap") as proc:
        proc.spawn()
        judge_folders = [os.path.basename(proc.workdir), os.path.basename(os.path.dirname(proc.output.name))]
        found = probe_seen(proc, needles(*judge_folders))
    assert found == []


@needs_bwrap
def test_fork_server_sandbox_shows_no_secret_and_no_host_path(secret_env):
    with ForkServer("bwrap") as server:
        server.start()
        look_for = needles(os.path.basename(server.workdir))
        for _ in range(2):  # the first zygote and one forked after a clean-up
            with StudentProcess(server=server) as proc:
                proc.spawn()
                found = probe_seen(proc, look_for + [os.path.basename(os.path.dirname(proc.output.name))])
            assert found == []


JUDGE = """
import json, sys
from autograder.sandbox.fork_server import ForkServer
from autograder.sandbox.process import StudentProcess
from tests.sandbox_probe import probe_seen
from tests.nb74 import NB74
level, server = sys.argv[1], sys.argv[2] == "server"
look_for = json.loads(sys.stdin.read())  # not in argv: /proc/PID/cmdline
if server:
    with ForkServer(level) as fs, StudentProcess(server=fs) as proc:
        print(json.dumps(probe_seen(proc, look_for)))
else:
    with StudentProcess(isolation=level) as proc:
        print(json.dumps(probe_seen(proc, look_for)))
"""


@pytest.mark.parametrize("server", [False, True], ids=["one-shot", "fork-server"])
def test_process_level_shows_no_secret(server):
    """A judge started with the secret in its environment (as from the instructor's shell): without
    bwrap the student sees the host's paths (no mount namespace), but neither the judge's
    environment nor any other process's through /proc."""
    env = {**os.environ, SECRET_NAME: SECRET}
    done = subprocess.run(
        [sys.executable, "-c", JUDGE, "process", "server" if server else "one-shot"],
        input=json.dumps([SECRET, SECRET_NAME]),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def leaking_submission(path: Path, probe: str) -> Path:
    """The solution, whose Linear.backward raises whatever `probe` (an expression) found, so that
    the judge's message carries it to the results, the notebook and the feedback; correct otherwise."""
    linear = answer_source("linear").replace(
        "x = self.cache['x']",
        f"_found = {probe}\n        if _found:\n"
        f"            raise ValueError(' | '.join(_found))\n        x = self.cache['x']",
    )
    assert "_found" in linear
    return make_submission(path, {"linear": PROBE + "\n" + linear})


@needs_bwrap
def test_cli_grade_results_show_no_secret_and_no_host_path(tmp_path):
    look_for = needles(str(tmp_path))
    sub = leaking_submission(tmp_path / "leak.ipynb", f"where({look_for!r})")
    env = {**os.environ, SECRET_NAME: SECRET}
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(sub), "--json", str(tmp_path / "r.json")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    shown = json.dumps(results, ensure_ascii=False) + done.stdout
    assert SECRET not in shown and SECRET_NAME not in shown
    assert not [p for p in look_for if p in json.dumps([t["output"] for t in results["tests"]], ensure_ascii=False)]
    assert part_scores(results)["linear"] == RUBRIC.parts["linear"].points  # nothing found, nothing raised


@needs_bwrap
@pytest.mark.slow
def test_nbgrader_autograde_and_feedback_show_no_secret(tmp_path, secret_env):
    """The submission's source (in the notebook and the feedback) names the variable, not its
    value or a host path: these may only come from what the sandbox exposed."""
    c = course.make_course(tmp_path / "course")
    course.add_students(c, ["leaky"])
    course.place(c, "leaky", leaking_submission(tmp_path / "leak.ipynb", f"exposed({SECRET_NAME!r})"))
    course.nbgrader(c, "autograde", course.A)
    course.nbgrader(c, "generate_feedback", course.A)
    autograded = json.loads((c / "autograded" / "leaky" / course.A / course.NB).read_text(encoding="utf-8"))
    outputs = json.dumps([cell.get("outputs", []) for cell in autograded["cells"]], ensure_ascii=False)
    feedback = next((c / "feedback" / "leaky" / course.A).glob("*.html")).read_text(encoding="utf-8")
    comments = course.comments(c / "gradebook.db")["leaky"]
    for text in (json.dumps(autograded, ensure_ascii=False), feedback, comments):
        assert SECRET not in text
    for text in (outputs, comments):
        assert not [p for p in (str(ROOT), sys.prefix, sys.base_prefix) if p in text]
    linear = RUBRIC.parts["linear"]
    assert course.scores(c / "gradebook.db")["leaky"][linear.test_cell] == linear.points  # nothing exposed


@needs_bwrap
def test_sandbox_sees_only_the_student_side_files_of_the_package():
    """launch.py, process.py, part_session.py... are the judge's: the sandbox binds the folder
    autograder/sandbox/inside/ at /runner, and the student-side files are all it holds."""
    student_side = {p.name for p in (ROOT / "autograder" / "sandbox" / "inside").iterdir()} - {"__pycache__"}
    judge_side = {p.name for p in (ROOT / "autograder" / "sandbox").glob("*.py")} - {"__init__.py"}
    assert {"launch.py", "process.py", "part_session.py"} <= judge_side
    assert {"runner.py", "protocol.py", "part_server.py"} <= student_side
    with StudentProcess(isolation="bwrap") as proc:
        proc.spawn()
        cells = [("probe", "import os\nLISTING = sorted(os.listdir('/runner'))\n", True)]
        assert [o.ok for o in proc.load(cells)] == [True]
        with proc.part_session() as s:
            listing = set(s.var("LISTING"))
    assert listing - {"__pycache__"} == student_side
    assert not listing & judge_side
