"""autograder.intake.canonical: the notebook every route grades, made from the release and what the student
wrote. Fast (no judge, no nbgrader): what the judge loads from it (judge.collect_cells) is checked
here too; that the routes grade it alike: tests/test_canonical_routes.py."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from autograder.intake.canonical import MAX_CELLS, MAX_MARKDOWN_CELLS, CanonicalError, canonical
from autograder.intake.definitions import definitions
from autograder.intake.read import release_skeleton
from autograder.intake.skeleton import grade_id, text
from autograder.judge.grade import collect_cells
from tests.nb74 import NB74
from tests.submissions import RELEASE, SOLUTION

SK = release_skeleton(NB74)
RUBRIC = NB74.rubric
PARTS = ["linear", "sigmoid", "relu", "tanh", "mse", "softmax_ce"]


def sol() -> dict[str, Any]:
    return json.loads(SOLUTION.read_text(encoding="utf-8"))


def cell_of(nb: dict[str, Any], gid: str) -> dict[str, Any]:
    return next(c for c in nb["cells"] if grade_id(c) == gid)


def answers(nb: dict[str, Any]) -> dict[str, str]:
    return {g: text(cell_of(nb, g)["source"]) for g in RUBRIC.answer_cells}


def loaded(nb: dict[str, Any]) -> list[tuple[str, str, bool]]:
    return collect_cells(nb, NB74)[0]


GOLD, GOLD_NOTES = canonical(sol(), SK)


def test_the_solution_and_the_release_as_handed_out_need_no_note():
    assert GOLD_NOTES == []
    assert canonical(json.loads(RELEASE.read_text(encoding="utf-8")), SK)[1] == []
    # the release's nbgrader cells, in its order, with its ids and metadata
    release = json.loads(RELEASE.read_text(encoding="utf-8"))
    graded = [c for c in GOLD["cells"] if grade_id(c)]
    assert [c["id"] for c in graded] == [c["id"] for c in release["cells"] if grade_id(c)]
    assert all(c["metadata"] == cell_of(release, grade_id(c))["metadata"] for c in graded)
    assert (GOLD["nbformat"], GOLD["nbformat_minor"]) == (4, 5)


def test_the_canonical_notebook_is_a_fixed_point():
    again, notes = canonical(copy.deepcopy(GOLD), SK)
    assert again == GOLD and notes == []


def test_metadata_lost_ids_lost_every_answer_found_by_what_it_defines():
    nb = sol()
    for c in nb["cells"]:
        c["metadata"] = {}
        c.pop("id", None)
    nb["nbformat_minor"] = 4
    got, notes = canonical(nb, SK)
    assert answers(got) == answers(GOLD)
    assert loaded(got) == loaded(GOLD)
    assert any("見つからなかった解答を" in n and "linear（Linear）" in n for n in notes)
    assert any("内容から見つけて" in n for n in notes)


def test_merged_answers_are_split_by_definition():
    nb = sol()
    merged = "import numpy as np  # again\n\n" + "\n\n".join(text(cell_of(nb, g)["source"]) for g in PARTS)
    cell_of(nb, "linear")["source"] = merged
    nb["cells"] = [c for c in nb["cells"] if grade_id(c) not in PARTS[1:]]
    got, notes = canonical(nb, SK)
    for g in PARTS:
        assert f"class {SK.answers[g] and next(iter(SK.answers[g]))}" in text(cell_of(got, g)["source"])
        assert text(cell_of(got, g)["source"]).count("class ") == 1
    assert "import numpy" in text(cell_of(got, "linear")["source"])  # what precedes goes with the next
    assert any("定義ごとに分けて" in n for n in notes)


def test_a_helper_cell_runs_only_its_definitions_before_the_answer_that_uses_it():
    nb = sol()
    i = nb["cells"].index(cell_of(nb, "linear"))
    helper = "import math\nEPS = 1e-8\nSHAPE = (2, -3)\ndef helper(a):\n    return a\nprint('x')\nx = helper(3)\nLayer = None\n"
    nb["cells"].insert(i, {"cell_type": "code", "metadata": {}, "outputs": [], "source": helper, "id": "mine"})
    got, notes = canonical(nb, SK)
    cells = loaded(got)
    own = [(n, s) for n, s, _ in cells if "def helper" in s]  # (the given cells say "helper" too)
    assert len(own) == 1 and own[0][0].startswith("自作セル")
    assert own[0][1] == "import math\nEPS = 1e-8\nSHAPE = (2, -3)\ndef helper(a):\n    return a\n"
    assert [n for n, _, _ in cells].index(own[0][0]) == [n for n, _, _ in cells].index("linear") - 1
    assert next(c for c in got["cells"] if c.get("id") == "mine")["source"] == helper  # shown as written
    assert any("定義も採点で読み込みました" in n for n in notes)


def test_the_notebooks_own_check_cells_contribute_only_constants():
    assert [(n, s) for n, s, _ in loaded(GOLD) if n.startswith("自作セル")] == [
        ("自作セル1", "N = 4       # バッチサイズ\nD_in = 3    # 入力次元\nD_out = 2   # 出力次元\n"),
        ("自作セル2", "N = 10  # サンプル数\n"),
    ]


def test_definitions_keep_only_definitions():
    src = "@dec\ndef f():\n    pass\nclass A: pass\nA.x = 1\nfor i in range(3): pass\nY: int = 3\nZ = f()\n"
    assert definitions(src) == "@dec\ndef f():\n    pass\nclass A: pass\nY: int = 3\n"
    assert definitions("def broken(:\n") == ""
    assert definitions("import numpy as np\nclass Layer: pass\n", frozenset({"np", "Layer"})) == ""


def test_reordered_answers_and_a_deleted_test_cell_are_laid_back_on_the_release():
    nb = sol()
    lin, sig = cell_of(nb, "linear"), cell_of(nb, "sigmoid")
    i, j = nb["cells"].index(lin), nb["cells"].index(sig)
    nb["cells"][i], nb["cells"][j] = sig, lin
    nb["cells"].remove(cell_of(nb, "test_relu"))
    got, notes = canonical(nb, SK)
    assert [grade_id(c) for c in got["cells"] if grade_id(c)] == [grade_id(c) for c in GOLD["cells"] if grade_id(c)]
    assert answers(got) == answers(GOLD)
    assert any("test_relu" in n and "戻しました" in n for n in notes)
    assert any("順に並べ直して" in n for n in notes)


def test_locked_cells_come_from_the_release_whatever_the_student_did():
    nb = sol()
    cell_of(nb, "given_layer")["source"] = "class Layer: pass  # mine"
    cell_of(nb, "test_linear")["source"] = "pass"
    cell_of(nb, "relu")["metadata"]["nbgrader"].update(grade=True, points=1000)
    got, notes = canonical(nb, SK)
    release = json.loads(RELEASE.read_text(encoding="utf-8"))
    for g in ("given_layer", "test_linear"):
        assert cell_of(got, g)["source"] == text(cell_of(release, g)["source"])
    assert cell_of(got, "relu")["metadata"] == cell_of(release, "relu")["metadata"]
    assert any("grade_id「relu」のセルの nbgrader 設定" in n for n in notes)


def test_duplicates_lookalikes_and_unknown_ids():
    nb = sol()
    first = cell_of(nb, "linear")
    nb["cells"].append({**copy.deepcopy(first), "source": "print('second')\n"})
    look = copy.deepcopy(cell_of(nb, "sigmoid"))
    look["metadata"]["nbgrader"]["grade_id"] = "sigm\u043eid\u200b"  # Cyrillic o, zero-width space
    nb["cells"].append(look)
    got, notes = canonical(nb, SK)
    joined = "\n".join(notes)
    assert "grade_id「linear」のセルが複数" in joined
    assert "「sigmoid」に似ています" in joined and "\\u200b" in joined
    # Run All's semantics: both linear cells run, in the student's order
    assert text(cell_of(got, "linear")["source"]).endswith("print('second')\n")
    ids = [c["id"] for c in got["cells"]]
    assert len(ids) == len(set(ids))


def test_invalid_cell_ids_are_replaced():
    nb = sol()
    nb["cells"].insert(0, {"cell_type": "markdown", "metadata": {}, "source": "mine", "id": "not valid!"})
    nb["cells"].insert(
        0, {"cell_type": "markdown", "metadata": {}, "source": "mine 2", "id": cell_of(nb, "linear")["id"]}
    )
    got, notes = canonical(nb, SK)
    ids = [c["id"] for c in got["cells"]]
    assert len(ids) == len(set(ids)) and all(0 < len(i) <= 64 for i in ids)
    assert "not valid!" not in ids
    assert any("新しい ID" in n and "2 個" in n for n in notes)


def test_an_answer_not_found_keeps_the_stub_and_says_so():
    nb = sol()
    nb["cells"].remove(cell_of(nb, "sigmoid"))
    got, notes = canonical(nb, SK)
    assert "NotImplementedError" in text(cell_of(got, "sigmoid")["source"])
    assert any("解答セル「sigmoid」" in n and "見つかりません" in n for n in notes)


def test_student_markdown_and_cells_are_bounded():
    nb = sol()
    nb["cells"] += [{"cell_type": "markdown", "metadata": {}, "source": "*_" * 10_000} for _ in range(250)]
    got, notes = canonical(nb, SK)
    mine = [c for c in got["cells"] if c["cell_type"] == "markdown" and c["source"].startswith("*_")]
    assert 0 < len(mine) <= MAX_MARKDOWN_CELLS
    assert sum(len(c["source"]) for c in mine) <= 40_000
    assert any("マークダウンセルが多すぎる" in n for n in notes)
    nb["cells"] = [{"cell_type": "code", "metadata": {}, "source": "", "outputs": []}] * (MAX_CELLS + 1)
    with pytest.raises(CanonicalError, match="セルが多すぎる"):
        canonical(nb, SK)


def test_outputs_unknown_metadata_and_attachments_are_dropped():
    nb = sol()
    nb["metadata"]["x"] = [{}] * 1000
    c = cell_of(nb, "linear")
    c["metadata"]["x"] = {"y": 1}
    c["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "big" * 1000}]
    nb["cells"].append({"cell_type": "markdown", "metadata": {"z": 1}, "source": "note", "attachments": {"a.png": {}}})
    got, _ = canonical(nb, SK)
    assert got["metadata"] == json.loads(RELEASE.read_text(encoding="utf-8"))["metadata"]
    assert all(c.get("outputs", []) == [] for c in got["cells"])
    assert all("attachments" not in c for c in got["cells"])
    assert cell_of(got, "linear")["metadata"].keys() == {"nbgrader"} | (
        cell_of(json.loads(RELEASE.read_text(encoding="utf-8")), "linear")["metadata"].keys()
    )


def test_wide_json_is_refused_before_it_is_parsed(tmp_path):
    """17 million JSON values in 50 MB: refused from a count on the bytes, in a process of its own
    whose peak (VmHWM: its own, not a parent's) stays near the file's size."""
    import subprocess
    import sys

    path = tmp_path / "wide.ipynb"
    body = json.dumps(sol())
    path.write_text(body[:-1] + ', "x": [' + "{}," * 17_000_000 + "{}]}", encoding="utf-8")
    probe = (
        "import sys\n"
        "from autograder.intake.read import SubmissionError, release_skeleton, take_in\n"
        "try:\n    take_in(__import__('pathlib').Path(sys.argv[1]), release_skeleton(__import__('tests.nb74').nb74.NB74))\n"
        "except SubmissionError as exc:\n    print(exc)\n"
        "print(next(ln for ln in open('/proc/self/status') if ln.startswith('VmHWM:')).split()[1])\n"
    )
    done = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True, check=True)
    message, peak_kb = done.stdout.strip().rsplit("\n", 1)
    print(f"wide JSON of {path.stat().st_size >> 20} MB refused, peak RSS {int(peak_kb) >> 10} MB: {message}")
    assert "要素が多すぎる" in message
    assert int(peak_kb) >> 10 < 250  # the bytes (50 MB) and the count; json.loads would take 2+ GB


# -- the canonical notebook of anything an editor or a student can make ---------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SOURCES = [text(c["source"]) for c in sol()["cells"]] + [
    "def f(:\n",
    "class Linear:\n    pass\nclass Sigmoid(Layer):\n    pass\n",
    "x = 1; y = 2\n",
    "",
    "import numpy as np\nEPS = 1e-8\n",
    "[link](http:x/..%2Fnotes.html) <b>x</b>",
]


@st.composite
def mangled(draw: st.DrawFn) -> dict[str, Any]:
    """The solution after a random sequence of what editors and students do to notebooks."""
    nb = sol()
    cells = nb["cells"]
    for _ in range(draw(st.integers(0, 8))):
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "merge", "strip", "id", "gid", "insert"]))
        if not cells:
            break
        i = draw(st.integers(0, len(cells) - 1))
        j = draw(st.integers(0, len(cells) - 1))
        if op == "delete":
            del cells[i]
        elif op == "duplicate":
            cells.insert(j, copy.deepcopy(cells[i]))
        elif op == "swap":
            cells[i], cells[j] = cells[j], cells[i]
        elif op == "merge" and i != j:
            cells[i] = {**cells[i], "source": text(cells[i]["source"]) + "\n" + text(cells[j]["source"])}
        elif op == "strip":
            cells[i] = {k: v for k, v in cells[i].items() if k not in ("metadata", "id")} | {"metadata": {}}
        elif op == "id":
            cells[i] = {**cells[i], "id": draw(st.sampled_from(["", "x y", "a" * 80, "same", cells[j].get("id", "z")]))}
        elif op == "gid":
            meta = copy.deepcopy(cells[i]["metadata"])
            meta.setdefault("nbgrader", {})["grade_id"] = draw(st.sampled_from([grade_id(c) or "x" for c in cells]))
            cells[i] = {**cells[i], "metadata": meta}
        elif op == "insert":
            kind = draw(st.sampled_from(["code", "markdown", "raw"]))
            cells.insert(i, {"cell_type": kind, "metadata": {}, "source": draw(st.sampled_from(SOURCES))})
    return nb


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mangled())
def test_fuzz_the_canonical_notebook_is_always_a_valid_release_shaped_notebook(nb):
    import nbformat

    got, notes = canonical(nb, SK)
    nbformat.validate(nbformat.from_dict(got))
    assert [grade_id(c) for c in got["cells"] if grade_id(c)] == [grade_id(c) for c in GOLD["cells"] if grade_id(c)]
    ids = [c["id"] for c in got["cells"]]
    assert len(ids) == len(set(ids))
    release = json.loads(RELEASE.read_text(encoding="utf-8"))
    for c in got["cells"]:
        gid = grade_id(c)
        if gid:
            assert c["metadata"] == cell_of(release, gid)["metadata"]
            if gid not in SK.answers:
                assert c["source"] == text(cell_of(release, gid)["source"])
    assert all(isinstance(n, str) and n for n in notes)
    again, _ = canonical(copy.deepcopy(got), SK)
    assert again == got  # laying it on the release twice changes nothing
    collect_cells(got, NB74)  # the judge can load it
