"""autograder/course/files.py: the judge's cache folder (outside the kit, closed to others) and the
one whole-file write every writer of the kit uses."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from autograder.course import files
from autograder.course.assignment import ROOT
from autograder.graders.expected_store import ExpectedStore, default_path, store_path
from tests.nb74 import NB74


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_cache_is_under_xdg_cache_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert files.cache_dir() == tmp_path / "xdg" / "nb74-kit"
    assert default_path() == tmp_path / "xdg" / "nb74-kit" / "expected.frames" == store_path()


@pytest.mark.parametrize("value", [None, "", "relative/cache"])
def test_without_an_absolute_xdg_cache_home_it_is_under_the_home_folder(monkeypatch, tmp_path, value):
    monkeypatch.setenv("HOME", str(tmp_path))
    if value is None:
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_CACHE_HOME", value)  # relative: invalid (XDG base directory spec)
    assert files.cache_dir() == tmp_path / ".cache" / "nb74-kit"


def test_the_cache_is_not_in_the_kit(monkeypatch):
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert not files.cache_dir().resolve().is_relative_to(ROOT)


def test_the_cache_folder_is_closed_to_others(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    sub = files.make_cache_dir("sandbox", "empty")
    assert sub == tmp_path / "nb74-kit" / "sandbox" / "empty" and sub.is_dir()
    assert mode(tmp_path / "nb74-kit") == 0o700
    os.chmod(tmp_path / "nb74-kit", 0o755)  # opened by hand, or made by another program
    files.make_cache_dir()
    assert mode(tmp_path / "nb74-kit") == 0o700


def test_the_expected_store_is_written_closed_in_the_closed_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    store = ExpectedStore(None, NB74)
    store.put("k", {"x": 1.0})
    store.save()
    assert store.path == tmp_path / "nb74-kit" / "expected.frames"
    assert mode(store.path) == 0o600 and mode(store.path.parent) == 0o700
    assert ExpectedStore(None, NB74).get("k") == {"x": 1.0}
    assert sorted(p.name for p in store.path.parent.iterdir()) == ["expected.frames"]  # no temporary file left


def test_write_atomic_replaces_the_file_whole(tmp_path):
    target = tmp_path / "report.html"
    files.write_atomic(target, "第一版")
    files.write_atomic(target, "第二版 ✓")
    assert target.read_text(encoding="utf-8") == "第二版 ✓"
    files.write_atomic(target, b"\x00\xff")
    assert target.read_bytes() == b"\x00\xff"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_the_new_file_has_the_mode_open_would_give_or_the_one_asked(tmp_path):
    old = os.umask(0o027)
    try:
        files.write_atomic(tmp_path / "a", "x")
        (tmp_path / "b").write_text("x")
        files.write_atomic(tmp_path / "c", "x", mode=0o644)  # exactly, whatever the umask
        files.write_atomic(tmp_path / "d", "x", mode=0o600)
    finally:
        os.umask(old)
    assert mode(tmp_path / "a") == mode(tmp_path / "b") == 0o640
    assert mode(tmp_path / "c") == 0o644 and mode(tmp_path / "d") == 0o600


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing(tmp_path):
    target = tmp_path / "results.json"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), files.atomic_file(target) as f:
        f.write(b"half of the new")
        raise RuntimeError("killed while writing")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_a_reader_never_sees_half_a_file_and_writers_share_no_temporary_file(tmp_path):
    target = tmp_path / "page.html"
    contents = [bytes([65 + i]) * 200_000 for i in range(4)]
    files.write_atomic(target, contents[0])
    seen: set[bytes] = set()
    done = threading.Event()

    def write(data: bytes) -> None:
        for _ in range(20):
            files.write_atomic(target, data)

    def read() -> None:
        while not done.is_set():
            seen.add(target.read_bytes())

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write, args=(c,)) for c in contents]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    done.set()
    reader.join()
    assert seen <= set(contents)
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]
