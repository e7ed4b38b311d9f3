"""An assignment's student side in the real sandbox (bwrap and 'process' level), with the test-only
assignment tests/assignment_probe/: its inside/ops.py adds request kinds (a "helper" making a Probe of
its public/helpers.py), the student's `def train(model, xs)` is called by "func" with a {"$ref": h}
to that Probe, and what comes back is plain data. The student cannot import or read the
assignment's graders/ or rubric, nor the kit's graders, rubric, solutions/ or the course secret,
and a reply over the bounds (described by the runner, or built raw by an assignment's handler) is
refused as any other.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from autograder.course.assignment import ROOT
from autograder.course.secret import secret_path
from autograder.graders.calls import Round
from autograder.sandbox import messages as say
from autograder.sandbox.errors import Missing, StudentCrashed, StudentError
from autograder.sandbox.fork_server import ForkServer
from autograder.sandbox.inside.protocol import MAX_REPLY, ChannelClosed
from autograder.sandbox.launch import isolation_level
from autograder.sandbox.process import StudentProcess
from autograder.sandbox.received import MAX_REPLY_ELEMENTS
from autograder.sandbox.requests import Ref
from autograder.sandbox.side import ENGINE_ONLY, MOUNT, StudentSide

PROBE = Path(__file__).resolve().parent / "assignment_probe"
SIDE = StudentSide.of(PROBE)
BWRAP = isolation_level("auto") == "bwrap"
LEVELS = [pytest.param("bwrap", marks=pytest.mark.skipif(not BWRAP, reason="needs bubblewrap")), "process"]

STUDENT = r'''
import importlib
import numpy as np

def train(model, xs):
    out = []
    for x in xs:
        model.step(x)
        out.append(x * 2)
    return out

def big():
    return np.zeros(5 << 20)

def peek(paths, modules):
    """What of `paths` can be read (files or folder listings) and `modules` imported."""
    seen = []
    for path in paths:
        try:
            if os.path.isdir(path):
                seen.append([path, sorted(os.listdir(path))])
            else:
                with open(path, "rb") as f:
                    seen.append([path, f.read(100).decode("utf-8", "replace")])
        except OSError:
            pass
    for name in modules:
        try:
            seen.append([name, str(getattr(importlib.import_module(name), "__file__", ""))])
        except Exception:
            pass
    return seen

import os
import shutil
class NotAFunction:
    pass
'''


def _loaded(proc: StudentProcess) -> StudentProcess:
    assert [o.ok for o in proc.load([("student", STUDENT, True)])] == [True], proc.outcomes
    return proc


def _train_on_a_probe(proc: StudentProcess) -> None:
    with proc.part_session() as s:
        where = s.request({"op": "where"}, "where")
        assert where["package"] == "_assignment.inside"
        if proc.level == "bwrap":
            assert (where["ops"], where["helpers"]) == (f"{MOUNT}/inside/ops.py", f"{MOUNT}/public/helpers.py")
        probe = s.request({"op": "helper", "args": [3]}, "Probe")["h"]
        losses = s.func("train", Ref(probe), [1.0, 2.5])
        assert [float(x) for x in losses] == [2.0, 5.0]
        steps, weights = s.request({"op": "call", "h": probe, "method": "report", "args": []}, "report")["result"]
        assert [float(x) for x in steps] == [1.0, 2.5] and weights.tolist() == [3.5] * 3
        with Round(s) as r:  # the graders' rounds: a helper of an earlier request, by reference
            again = r.func("train", Ref(probe), [np.float64(0.5)])
            missing = r.func("NotAFunction")
        assert [float(x) for x in again.value()] == [1.0]
        with pytest.raises(Missing, match="NotAFunction"):
            missing.value()
        with pytest.raises(StudentError, match="no object 99"):
            s.func("train", Ref(99), [1.0])


@pytest.mark.parametrize("level", LEVELS)
def test_train_is_called_with_a_reference_to_the_assignments_helper(level: str) -> None:
    with StudentProcess(isolation=level, side=SIDE) as proc:
        _train_on_a_probe(_loaded(proc))


def test_a_fork_server_serves_its_assignment_to_every_zygote() -> None:
    with ForkServer(side=SIDE) as server:
        for _ in range(2):  # the first zygote and one forked after a clean-up
            with StudentProcess(server=server) as proc:
                _train_on_a_probe(_loaded(proc))
        with pytest.raises(ValueError, match="fork server"):
            StudentProcess(server=server, side=ENGINE_ONLY)


def _out_of_reach(tmp_path: Path) -> tuple[list[str], list[str]]:
    """Paths and modules the student must not reach: the assignment's graders and rubric, the kit's."""
    planted = tmp_path / "course-secret"
    planted.write_text("course-secret-5e0c", encoding="utf-8")
    paths = [
        PROBE,
        PROBE / "graders",
        PROBE / "graders" / "secret.py",
        PROBE / "rubric.toml",
        ROOT / "autograder" / "graders",
        ROOT / "autograder" / "graders" / "conftest.py",
        ROOT / "autograder" / "course" / "rubric.toml",
        ROOT / "solutions",
        ROOT / "autograder" / "course" / "secret.py",
        secret_path(),
        planted,
        Path(MOUNT) / "graders" / "secret.py",
        Path(MOUNT) / "rubric.toml",
    ]
    modules = ["_assignment.graders", "_assignment.graders.secret", "graders.secret", "autograder", "tests"]
    return [str(p) for p in paths], modules


@pytest.mark.parametrize("level", LEVELS)
def test_the_student_sees_the_assignments_inside_and_public_only(level: str, tmp_path: Path) -> None:
    paths, modules = _out_of_reach(tmp_path)
    visible = ["_assignment.public.helpers", "_assignment.inside.ops"]
    with StudentProcess(isolation=level, side=SIDE) as proc, _loaded(proc).part_session() as s:
        seen = s.func("peek", paths + [MOUNT], modules + visible)
    shown = {str(name): value for name, value in seen}
    assert set(shown) == {*([MOUNT] if level == "bwrap" else []), *visible}, shown
    if level == "bwrap":
        assert shown[MOUNT] == ["inside", "public"]


@pytest.mark.parametrize("level", LEVELS)
def test_without_an_assignment_there_is_no_assignment_package(level: str, tmp_path: Path) -> None:
    paths, modules = _out_of_reach(tmp_path)
    with StudentProcess(isolation=level) as proc, _loaded(proc).part_session() as s:
        seen = s.func("peek", paths + [MOUNT], modules + ["_assignment", "_assignment.public.helpers"])
        with pytest.raises(StudentError, match="unknown op 'helper'"):
            s.request({"op": "helper", "args": [3]}, "Probe")
    assert seen == []


@pytest.mark.parametrize("level", LEVELS)
def test_replies_over_the_bounds_are_refused_as_any_other(level: str) -> None:
    with StudentProcess(isolation=level, side=SIDE) as proc:
        _loaded(proc)
        with proc.part_session() as s:  # described by the runner: stopped there, the child lives on
            with pytest.raises(StudentError) as err:
                s.func("big")
            assert str(err.value) == say.reply_over_limit(say.function("big"), MAX_REPLY_ELEMENTS)
            with pytest.raises(StudentError) as err:  # an object is never sent (nor pickled)
                s.request({"op": "raw", "object": True}, "raw")
            assert "UnsendableValue" not in str(err.value) and "Probe" in str(err.value)
            assert s.request({"op": "where"}, "where")["package"] == "_assignment.inside"
        with proc.part_session() as s:  # an assignment's reply over the elements: refused on arrival
            with pytest.raises(StudentCrashed) as err:
                s.request({"op": "raw", "n": 1 << 20, "copies": 8}, "raw")
            assert str(err.value) == say.reply_refused("raw", say.reply_too_many_elements(8 << 20, MAX_REPLY_ELEMENTS))
        with proc.part_session() as s:  # over the bytes: refused from the frame's length, unread
            with pytest.raises(StudentCrashed) as err:
                s.request({"op": "raw", "n": MAX_REPLY // 2, "copies": 3}, "raw")
            assert str(err.value).startswith(say.reply_too_many_bytes("raw", 0, 0).split("（")[0])
        with proc.part_session() as s:  # a fresh child serves the assignment as before
            assert s.request({"op": "where"}, "where")["package"] == "_assignment.inside"


def test_the_probe_assignment_holds_what_must_stay_hidden() -> None:
    """The test's premise: the hidden files exist where the student looks for them."""
    assert (PROBE / "graders" / "secret.py").is_file() and (PROBE / "rubric.toml").is_file()
    assert SIDE.folders == (PROBE / "inside", PROBE / "public") and SIDE.handlers == "inside.ops"
    assert os.access(PROBE / "graders" / "secret.py", os.R_OK)


def test_a_broken_handler_module_stops_the_start_never_runs_without_its_kinds(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    for name in ("inside", "public"):
        shutil.copytree(PROBE / name, broken / name)
    with (broken / "inside" / "ops.py").open("a", encoding="utf-8") as ops:
        ops.write('\nHANDLERS = {"helper": 3}\n')
    with StudentProcess(isolation="process", side=StudentSide.of(broken)) as proc:
        with pytest.raises(ChannelClosed):
            proc.load([("student", STUDENT, True)])
        assert "HANDLERS must map request kinds to functions" in proc.student_output()
