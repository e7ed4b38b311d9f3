"""The judge's on-disk store of expected values (autograder/graders/expected_store.py): found only
under the key and code it was computed with, never unpickled, merged between grader processes, used
by the judge under bwrap only, and never changing a grade."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

from autograder.course.assignment import ROOT
from autograder.graders import expected_store
from autograder.graders.cache import ExpectedCache, cached
from autograder.graders.cache import expected_store as on_disk
from autograder.graders.expected_store import ExpectedStore
from autograder.graders.session import SHARED_CACHE, GradingSession, current
from autograder.sandbox.inside import protocol
from autograder.sandbox.launch import bwrap_available
from tests.bugs.catalog import BUGS
from tests.judged import grade_notebook
from tests.nb74 import NB74
from tests.submissions import SOLUTION, make_submission

BY_NAME = {e.name: e for e in BUGS}


def value() -> dict:
    return {"dx": np.arange(6.0).reshape(2, 3), "grads": [(np.ones(2), np.array([np.inf, -1.0]))], "n": 3}


def test_an_entry_is_read_back_by_another_store(tmp_path):
    path = tmp_path / "e.frames"
    store = ExpectedStore(path, NB74)
    store.put(("Linear", (7411, (1, 3, 2), 0), False), value())
    store.save()
    got = ExpectedStore(path, NB74).get(("Linear", (7411, (1, 3, 2), 0), False))
    assert np.array_equal(got["dx"], value()["dx"]) and got["n"] == 3
    w, b = got["grads"][0]
    assert np.array_equal(w, np.ones(2)) and np.array_equal(b, [np.inf, -1.0])
    assert ExpectedStore(path, NB74).get(("Linear", (7411, (1, 3, 2), 0), True)) is None  # another key


def test_an_entry_of_other_grader_code_is_not_found(tmp_path, monkeypatch):
    path = tmp_path / "e.frames"
    store = ExpectedStore(path, NB74)
    store.put("k", value())
    store.save()
    monkeypatch.setattr(expected_store, "code_digest", lambda a: b"graders or reference edited")
    edited = ExpectedStore(path, NB74)
    assert edited.get("k") is None and edited.entries == {}
    edited.put("k2", value())
    edited.save()
    monkeypatch.undo()
    assert ExpectedStore(path, NB74).entries == {}  # the old code's entry was dropped from the file
    assert len(path.read_bytes()) < 2 * len(protocol.encode({"k": "x" * 97, "v": value()}))


def test_the_file_keeps_every_assignments_entries(tmp_path):
    """One file for all the assignments: saving drops this one's stale entries, not another's."""
    from dataclasses import replace

    path = tmp_path / "e.frames"
    other = replace(NB74, name="nb75_training_loop")  # its entries: another name, the same code
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(expected_store, "names", lambda: [NB74.name, other.name])
        mp.setattr(expected_store, "code_digest", lambda a: b"the same code")
        theirs = ExpectedStore(path, other)
        theirs.put("k", value())
        theirs.save()
        mine = ExpectedStore(path, NB74)
        assert mine.get("k") is None  # another assignment's entry is not this one's
        mine.put("k", value())
        mine.save()
        assert ExpectedStore(path, other).get("k") is not None and ExpectedStore(path, NB74).get("k") is not None


def test_editing_a_grader_or_the_reference_changes_the_digest(tmp_path):

    files = expected_store.digested_files(NB74)
    assert {NB74.graders_dir / n for n in ("backward.py", "test_linear.py", "test_mlp.py")} <= set(files)
    assert expected_store.ENGINE / "calls.py" in files  # the engine's grader modules too
    assert NB74.reference() in files
    copies = []
    for i, f in enumerate(files):
        copies.append(tmp_path / str(i) / f.name)
        copies[-1].parent.mkdir()
        copies[-1].write_bytes(f.read_bytes())
    before = expected_store.files_digest(copies)
    assert before == expected_store.code_digest(NB74)  # names and bytes, not where the files are
    for edited in (copies[0], copies[-1]):
        edited.write_bytes(edited.read_bytes() + b"# edited\n")
        assert expected_store.files_digest(copies) != before
        before = expected_store.files_digest(copies)


def test_a_torn_or_foreign_file_is_recomputed_and_never_unpickled(tmp_path):
    path = tmp_path / "e.frames"
    store = ExpectedStore(path, NB74)
    store.put("a", value())
    store.put("b", value())
    store.save()
    data = path.read_bytes()
    path.write_bytes(data[:-7])  # torn by a crash mid-write: "a" survives
    torn = ExpectedStore(path, NB74)
    assert torn.get("a") is not None and torn.get("b") is None

    marker = tmp_path / "unpickled"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    for payload in (pickle.dumps(Exploit()), b"\x00\x00\x00\x10" + pickle.dumps(Exploit()), b"\xff" * 64):
        path.write_bytes(payload)
        assert ExpectedStore(path, NB74).entries == {}
    assert not marker.exists()


def test_saves_of_two_grader_processes_are_merged(tmp_path):
    path = tmp_path / "e.frames"
    first, second = ExpectedStore(path, NB74), ExpectedStore(path, NB74)
    first.put("one", value())
    second.put("two", value())
    first.save()
    second.save()
    merged = ExpectedStore(path, NB74)
    assert merged.get("one") is not None and merged.get("two") is not None


def test_the_oldest_entries_go_beyond_the_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(expected_store, "MAX_ENTRIES", 3)
    path = tmp_path / "e.frames"
    store = ExpectedStore(path, NB74)
    for k in range(5):
        store.put(k, {"k": np.asarray(float(k))})
    store.save()
    kept = ExpectedStore(path, NB74)
    assert [k for k in range(5) if kept.get(k) is not None] == [2, 3, 4]


def test_an_unwritable_place_only_costs_the_disk_copy(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    store = ExpectedStore(blocker / "sub" / "e.frames", NB74)
    store.put("k", value())
    store.save()  # no exception: values stay in memory
    assert store.get("k") is not None


def test_cached_reads_the_store_instead_of_recomputing(tmp_path, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("nb74_reference_store_test", NB74.reference())
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    calls = []

    def compute():
        calls.append(1)
        return {"dx": np.full((2, 2), 0.5)}

    path = tmp_path / "e.frames"
    for _ in range(2):  # two "processes": the in-memory cache starts empty each time
        with GradingSession(cache=ExpectedCache()).active(), on_disk(NB74, path):
            got = cached(("store-test", 1), reference, compute)
        assert np.array_equal(got["dx"], np.full((2, 2), 0.5))
    assert len(calls) == 1 and path.is_file()

    class Other:  # a stand-in reference from another file never reads or writes the store
        __file__ = __file__

    with GradingSession(cache=ExpectedCache()).active(), on_disk(NB74, path) as store:
        cached(("store-test", 1), Other(), compute)
        assert not store.added
    assert len(calls) == 2


def test_the_store_can_be_turned_off(monkeypatch):
    monkeypatch.setenv(expected_store.ENV_PATH, "")
    with on_disk(NB74) as store:
        assert store is None and current().cache.store is None


def test_process_isolation_keeps_nothing_on_disk(tmp_path, monkeypatch):
    path = tmp_path / "e.frames"
    monkeypatch.setenv(expected_store.ENV_PATH, str(path))
    monkeypatch.setattr(SHARED_CACHE, "expected", OrderedDict())
    results = grade_notebook(SOLUTION, isolation="process")
    assert results["score"] == 100 and not path.exists()


def cli_grade(notebook: Path, out: Path, store: Path) -> bytes:
    env = {**os.environ, expected_store.ENV_PATH: str(store)}
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(notebook), "--json", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return out.read_bytes()


@pytest.mark.skipif(not bwrap_available(), reason="the store is used under bwrap only")
def test_a_grade_from_the_store_is_the_grade_computed_afresh(tmp_path):
    bugs = [BY_NAME["linear_dW_transposed"], BY_NAME["softmax_grad_wrt_p"], BY_NAME["ex82_labels_1d"]]
    submission = make_submission(tmp_path / "buggy.ipynb", {b.cell: b.source for b in bugs})
    store = tmp_path / "e.frames"
    cold = cli_grade(submission, tmp_path / "cold.json", store)
    assert store.is_file()
    entries = len(ExpectedStore(store, NB74).entries)
    assert entries >= 30  # the hidden cases the graders needed, and the exercise re-runs
    warm = cli_grade(submission, tmp_path / "warm.json", store)
    assert warm == cold
    assert len(ExpectedStore(store, NB74).entries) == entries  # nothing recomputed, nothing added
    results = json.loads(warm)
    lost = {t["part"] for t in results["tests"] if t["score"] < t["max_score"]}
    assert lost == {b.part for b in bugs}
