"""autograder.intake.read, the one reader of submissions: links, special files, size, nesting, encoding,
structure. Fast (no nbgrader). (What it makes of a notebook: tests/test_canonical.py.)
(The routes themselves, with links: tests/test_intake_links.py.)"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from autograder.intake import read as intake
from autograder.intake.read import SubmissionError, read_notebook
from tests.nb74 import NB74
from tests.submissions import SOLUTION


def sol() -> dict:
    return json.loads(SOLUTION.read_text(encoding="utf-8"))


def refused(path: Path, under: Path | None = None) -> str:
    with pytest.raises(SubmissionError) as info:
        read_notebook(path, under)
    return str(info.value)


def test_a_link_is_refused_as_the_file_and_as_a_folder_on_the_way(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "nb.ipynb").write_bytes(SOLUTION.read_bytes())
    assert read_notebook(real / "nb.ipynb", tmp_path).notebook["cells"]
    os.symlink(SOLUTION, real / "link.ipynb")
    assert "シンボリックリンク" in refused(real / "link.ipynb", tmp_path)
    os.symlink(real, tmp_path / "folder")
    assert "シンボリックリンク" in refused(tmp_path / "folder" / "nb.ipynb", tmp_path)
    os.mkfifo(real / "fifo.ipynb")
    assert "通常のファイルではない" in refused(real / "fifo.ipynb")  # and it does not block
    (real / "dir.ipynb").mkdir()
    assert "通常のファイルではない" in refused(real / "dir.ipynb")


def test_size_nesting_encoding_and_structure(tmp_path, monkeypatch):
    nb = tmp_path / "nb.ipynb"
    cases = {
        b"\xff\xfe" + SOLUTION.read_bytes(): "UTF-8 ではない",
        json.dumps({**sol(), "metadata": {"x": json.loads("[" * 100 + "]" * 100)}}).encode(): "入れ子が深すぎる",
        SOLUTION.read_bytes().replace(
            b'"metadata": {', b'"metadata": {"x": ' + b"[" * 5000 + b"]" * 5000 + b", ", 1
        ): "入れ子が深すぎる",
        json.dumps({**sol(), "cells": [{"cell_type": "code", "metadata": [], "source": ""}]}).encode(): "1 番目のセル",
        json.dumps({**sol(), "cells": [{"cell_type": "code", "metadata": {}, "source": 3}]}).encode(): "1 番目のセル",
        json.dumps({**sol(), "cells": ["文字列"]}).encode(): "1 番目のセル",
    }
    for data, reason in cases.items():
        nb.write_bytes(data)
        assert reason in refused(nb), reason
    monkeypatch.setattr(intake, "MAX_NOTEBOOK_BYTES", 1000)
    nb.write_bytes(SOLUTION.read_bytes())
    assert "大きすぎます" in refused(nb)


def test_lone_surrogates_are_replaced_with_a_note(tmp_path):
    nb = sol()
    nb["cells"][0]["source"] = "a \ud800 b"
    nb["metadata"]["\udfff"] = "\ud83d\ude00 ok"  # a valid pair stays
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb, ensure_ascii=True), encoding="ascii")
    got = read_notebook(path)
    assert got.notebook["cells"][0]["source"] == "a \ufffd b"
    assert got.notebook["metadata"]["\ufffd"] == "\U0001f600 ok"
    assert "サロゲート" in got.notes[0]
    json.dumps(got.notebook, ensure_ascii=False).encode("utf-8")  # writable now


def test_batch_discovery_skips_folder_names_that_are_not_student_ids(tmp_path, capsys):
    """A student id reaches formgrader's pages unescaped: a folder name with quotes or markup is
    not taken as one (reported on stderr), while ids in any script are."""

    from autograder.intake.submissions import discover

    rubric = NB74.rubric
    names = ["s001", "yamada-山田", 'x";alert(1);"', "<img src=x onerror=alert(1)>"]
    for name in names:
        folder = tmp_path / "submitted" / name / rubric.assignment
        folder.mkdir(parents=True)
        (folder / f"{rubric.notebook}.ipynb").write_text("{}", encoding="utf-8")
    found = sorted(s.student for s in discover(tmp_path, NB74))
    assert found == ["s001", "yamada-山田"]
    err = capsys.readouterr().err
    assert err.count("not a student id") == 2
