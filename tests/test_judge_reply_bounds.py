"""Bounds inside the judge's own process (issue 22, findings 8 and 9), through the real judge CLI
(bwrap sandbox), with the judge's peak RSS measured and printed.

- Finding 8: an exercise set up with t_82 of shape (M, 1, 1) broadcast through the judge's re-run of
  the gradient check ((M, N, 1) arrays everywhere); every array the re-run uses is now checked
  against the task's shapes first, and the test fails with a message naming the variable, its shape
  and the one expected.
- Finding 9: a backward returning [np.zeros(1 << 20, bool)] * 180 (each array under the per-array
  bound, 1.4 GiB as float64 together) took the judge to 6.5 GiB, a forged header naming one array
  180 times to 11.6 GiB. A reply is now bounded in total before anything is converted: in bytes
  (protocol.MAX_REPLY, refused from the frame's length) and in elements over every reference
  (received.MAX_REPLY_ELEMENTS); the runner's describe() stops at the same total before copying.
- Finding 12 (masking): a hidden number cut at the runner's 100-character limit is masked.
- The batch: the broadcast and a forged reply next to a correct submission, peak RSS of every process.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from autograder.course.assignment import ROOT
from autograder.course.secret import ENV_SECRET
from autograder.sandbox.inside.protocol import MAX_REPLY
from autograder.sandbox.received import MAX_REPLY_ELEMENTS
from tests.bugs.catalog import with_backward
from tests.judged import part_scores
from tests.nb74 import NB74
from tests.submissions import answer_source, make_submission

RUBRIC = NB74.rubric
# The judge's own peak for a correct submission is about 52 MiB here; each attack below took it
# to 0.8-7.8 GiB before these bounds.
JUDGE_PEAK = 160 << 20


@pytest.fixture(autouse=True)
def course_secret(monkeypatch):
    monkeypatch.setenv(ENV_SECRET, "b0d5" * 16)


def judge_peak(notebook: Path, out: Path, timeout: float = 240) -> tuple[dict, int, float]:
    """(results, peak RSS in bytes of the judge's own process, seconds) of `python -m autograder grade`
    run in a process of its own; the student's sandbox processes are not counted."""
    wrapper = (
        "import sys\n"
        "from autograder.__main__ import main\n"
        "code = main(['grade', sys.argv[1], '--json', sys.argv[2]])\n"
        # VmHWM, not ru_maxrss: Linux carries the parent's peak into a child started by vfork+exec
        # (subprocess does), so after a long pytest run ru_maxrss reports pytest's own 400 MB
        "hwm = next(ln for ln in open('/proc/self/status') if ln.startswith('VmHWM:'))\n"
        "print('JUDGE_PEAK_KB', hwm.split()[1], file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", wrapper, str(notebook), str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ.copy(),
    )
    seconds = time.monotonic() - start
    assert done.returncode == 0, done.stderr[-3000:]
    peak = int(done.stderr.rsplit("JUDGE_PEAK_KB", 1)[1].split()[0]) * 1024
    print(f"\n{notebook.name}: judge peak RSS {peak >> 20} MiB, {seconds:.1f} s")
    return json.loads(out.read_text(encoding="utf-8")), peak, seconds


def part_tests(results: dict, part: str) -> dict[str, dict]:
    return {t["name"].split(" :: ")[-1]: t for t in results["tests"] if t["part"] == part}


def others_full(results: dict, part: str) -> None:
    others = {p: s for p, s in part_scores(results).items() if p != part}
    assert others == {p.name: p.points for p in RUBRIC.parts.values() if p.name != part}


# --- finding 8 --------------------------------------------------------------------------------------------
M = 1 << 18  # t_82 of (M, 1, 1): about 0.8 GiB of the judge's memory before the shapes were checked


def broadcast_exercise(tmp_path: Path) -> Path:
    cell = answer_source("exercise_8_2").replace("t_82 = np.random.randn(5, 1)", f"t_82 = np.zeros(({M}, 1, 1))")
    assert f"({M}, 1, 1)" in cell
    return make_submission(tmp_path / "broadcast.ipynb", {"exercise_8_2": cell})


def test_an_exercise_target_that_broadcasts_is_refused_before_the_rerun(tmp_path):
    results, peak, seconds = judge_peak(broadcast_exercise(tmp_path), tmp_path / "results.json")
    check = part_tests(results, "exercise_8_2")["test_gradient_check_passes"]
    assert check["status"] == "failed", check
    assert f"t_82 の形状が ({M}, 1, 1) です" in check["output"] and "(5, 1) が必要です" in check["output"], check
    others_full(results, "exercise_8_2")
    assert peak < JUDGE_PEAK, f"judge peak RSS {peak >> 20} MiB"
    assert seconds < 60, seconds


@pytest.mark.parametrize(
    "replace, shown",
    [
        (("X_82 = np.random.randn(5, 3)", "X_82 = np.random.randn(5, 3, 1)"), "X_82 の形状が (5, 3, 1) です"),
        (("t_82 = np.random.randn(5, 1)", "t_82 = np.random.randn(5)"), "t_82 の形状が (5,) です"),
    ],
)
def test_every_array_of_the_rerun_is_checked_against_the_task(tmp_path, replace, shown):
    cell = answer_source("exercise_8_2").replace(*replace)
    nb = make_submission(tmp_path / "shape.ipynb", {"exercise_8_2": cell})
    results, peak, _ = judge_peak(nb, tmp_path / "results.json")
    check = part_tests(results, "exercise_8_2")["test_gradient_check_passes"]
    assert check["status"] == "failed" and shown in check["output"], check
    assert peak < JUDGE_PEAK, f"judge peak RSS {peak >> 20} MiB"


# --- finding 9 --------------------------------------------------------------------------------------------
def test_a_list_of_arrays_is_bounded_in_total(tmp_path):
    """The runner's describe() stops at the judge's total before copying the list's 180 arrays."""
    cell = with_backward("linear", "def backward(self, dout):\n    return [np.zeros(1 << 20, bool)] * 180\n")
    nb = make_submission(tmp_path / "list.ipynb", {"linear": cell})
    results, peak, seconds = judge_peak(nb, tmp_path / "results.json")
    outputs = [t["output"] for t in part_tests(results, "linear").values()]
    total = f"配列の要素が合計 {MAX_REPLY_ELEMENTS:,} 個を超えるため、採点側に送れません"
    assert any("Linear.backward の結果が大きすぎます" in o and total in o for o in outputs), outputs
    assert part_scores(results)["linear"] == 0
    others_full(results, "linear")
    assert peak < JUDGE_PEAK, f"judge peak RSS {peak >> 20} MiB"
    assert seconds < 60, seconds


# The student owns its process: it replaces the channel's send, so the judge's own bounds must hold.
# "refs": a header naming one 1 MiB array 180 times (1 MiB on the wire; 1.4 GiB once converted);
# "bytes": one 64 MiB array (the channel's per-array limit), 512 MiB once converted.
FORGED_FRAMES = {
    "refs": ('{"result": [{"$a": 0}] * 180}', "1 << 20"),
    "bytes": ('{"result": {"$a": 0}}', "64 << 20"),
}


def forged_reply(kind: str) -> str:
    body, size = FORGED_FRAMES[kind]
    return (
        with_backward("linear", "def backward(self, dout):\n    return 'FORGE'\n")
        + f"""
import json as _json, struct as _struct, sys as _sys
_proto = next(m for k, m in list(_sys.modules.items()) if k.endswith("protocol") and hasattr(m, "send_encoded"))
_send = _proto.send
def _forged(sock, reply):
    if isinstance(reply, dict) and isinstance(reply.get("result"), str) and reply["result"] == "FORGE":
        head = _json.dumps({{"body": {body}, "arrays": [["|b1", [{size}]]]}}).encode()
        payload = _struct.pack(">I", len(head)) + head + bytes({size})
        return _proto.send_encoded(sock, _struct.pack(">I", len(payload)) + payload)
    return _send(sock, reply)
_proto.send = _forged
"""
    )


@pytest.mark.parametrize(
    "kind, shown",
    [
        ("refs", f"合計 {180 << 20:,} 個、上限 {MAX_REPLY_ELEMENTS:,} 個"),
        ("bytes", f"上限 {MAX_REPLY:,} バイト"),
    ],
)
def test_a_forged_reply_is_refused_before_conversion(tmp_path, kind, shown):
    nb = make_submission(tmp_path / "forged.ipynb", {"linear": forged_reply(kind)})
    results, peak, seconds = judge_peak(nb, tmp_path / "results.json")
    outputs = [t["output"] for t in part_tests(results, "linear").values()]
    assert any("Linear.backward の結果が大きすぎます" in o and shown in o for o in outputs), outputs
    assert part_scores(results)["linear"] == 0
    others_full(results, "linear")
    assert peak < JUDGE_PEAK, f"judge peak RSS {peak >> 20} MiB"
    assert seconds < 120, seconds


# --- finding 12: a hidden number cut at a boundary is masked too ------------------------------------------
# The exception's type name spells a hidden x after a long number, so that the runner's cut of a type
# name at 100 characters leaves its first 3 digits; the long number, masked to "…", shrinks the name
# under the judge's 60 characters and brought them into view ("X…,0.496").
CUT_NUMBER_LINEAR = with_backward(
    "linear",
    r"""
def backward(self, dout):
    raise type("X" + "1" * 93 + "," + repr(abs(float(self.cache['x'].flat[0]))), (Exception,), {})("0")
""",
)
NUMBER = re.compile(r"\d*\.\d+|\d+")


def significant(token: str) -> str:
    return token.replace(".", "").lstrip("0")


def test_a_hidden_number_cut_by_a_limit_is_masked(tmp_path):
    from tests.judge_inputs import linear_inputs

    nb = make_submission(tmp_path / "cut.ipynb", {"linear": CUT_NUMBER_LINEAR})
    out = tmp_path / "results.json"
    results, _, _ = judge_peak(nb, out)
    outputs = [t["output"] for t in part_tests(results, "linear").values()]
    assert any("例外 X" in o for o in outputs), outputs  # the student still learns what raised
    hidden = {significant(repr(abs(float(v)))) for case in linear_inputs(nb) for v in np.ravel(case["x"])}
    shown = {significant(tok) for o in outputs for tok in NUMBER.findall(o.split("が発生しました")[0])}
    leaked = {s for s in shown if len(s) >= 3 and any(h.startswith(s) for h in hidden)}
    assert not leaked, (leaked, outputs[:2])


# --- the same attacks through the batch ---------------------------------------------------------------------
BATCH_WRAP = (
    "import resource, subprocess, sys\nrc = subprocess.run(sys.argv[1:]).returncode\n"
    "print('MAXRSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\nsys.exit(rc)"
)
# Peak of any one process of the batch (coordinator, workers, their sandboxes): about 150 MiB for
# this class; the broadcast alone took a worker to 568 MiB, the forged reply to 11.6 GiB.
BATCH_PEAK = 400 << 20


@pytest.mark.slow
def test_the_batch_grades_everyone_within_its_memory(tmp_path):
    from tests.course import batch_cmd, env, make_course, place, scores
    from tests.submissions import SOLUTION

    course = make_course(tmp_path / "course")
    place(course, "control", SOLUTION)
    place(course, "broadcast", broadcast_exercise(tmp_path).read_bytes())
    place(course, "forged", make_submission(tmp_path / "forged.ipynb", {"linear": forged_reply("refs")}).read_bytes())
    cmd = [sys.executable, "-c", BATCH_WRAP, *batch_cmd(course, "--workers", "2")]
    start = time.monotonic()
    done = subprocess.run(
        cmd,
        cwd=ROOT,
        env=env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    seconds = time.monotonic() - start
    peak = int(done.stderr.rsplit("MAXRSS_KB", 1)[1].split()[0]) * 1024
    print(f"\nbatch of 3: peak RSS of any process {peak >> 20} MiB, {seconds:.1f} s")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    got = {s: row["_total"] for s, row in scores(course / "gradebook.db").items()}
    assert got["control"] == RUBRIC.max_score, got
    lost = {"broadcast": RUBRIC.parts["exercise_8_2"], "forged": RUBRIC.parts["linear"]}
    for student, part in lost.items():
        assert RUBRIC.max_score - part.points <= got[student] < RUBRIC.max_score, (student, got)
    assert peak < BATCH_PEAK, f"peak RSS {peak >> 20} MiB"
