"""The Gradescope route, run for real: `python -m autograder gradescope --out DIR`, the zip
unpacked under a temporary $AUTOGRADER_ROOT, its setup.sh (a real venv of the judge's pinned
runtime, on Python 3.10 as on Gradescope's Ubuntu 22.04 image where this machine has it) and its
run_autograder, one submission folder after another.
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from autograder.course.assignment import ROOT, VISIBILITIES, load_rubric
from autograder.feedback.messages import part_label
from autograder.routes.gradescope.package import build_zip, shipped
from tests.bugs.catalog import BUGS
from tests.gradescope_setup import Gradescope
from tests.leaks import find_leaks
from tests.nb74 import NB74
from tests.submissions import RELEASE, SOLUTION, make_submission

pytestmark = pytest.mark.slow

RUBRIC = NB74.rubric
EXPECTED = f"{RUBRIC.notebook}.ipynb"
TWO_BUGS = ("linear_dW_transposed", "mse_seed_2_over_N")


@pytest.fixture
def zip_path(gradescope_zip: Path) -> Path:
    return gradescope_zip


@pytest.fixture
def gradescope(gradescope_image: Gradescope) -> Gradescope:
    """The run's one set-up image (tests/conftest.py), shared with test_support_matrix and test_one_rubric."""
    return gradescope_image


@pytest.fixture(scope="module")
def buggy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("buggy")
    return make_submission(tmp / EXPECTED, {e.cell: e.source for e in BUGS if e.name in TWO_BUGS})


def judge_cli(notebook: Path, tmp: Path) -> dict:
    out = tmp / "judge.json"
    subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(notebook), "--json", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return json.loads(out.read_text(encoding="utf-8"))


# -- the zip ---------------------------------------------------------------------------------------


def test_zip_has_the_scripts_at_its_root_and_nothing_of_the_instructor_side(zip_path: Path) -> None:
    with zipfile.ZipFile(zip_path) as z:
        names = z.namelist()
        modes = {i.filename: (i.external_attr >> 16) for i in z.infolist()}
    assert {"setup.sh", "run_autograder"} <= set(names)
    assert all(modes[n] & stat.S_IXUSR for n in ("setup.sh", "run_autograder"))
    assert (
        "autograder/requirements-judge.txt" in names
        and "autograder/assignments/nb74_matrix_backprop/rubric.toml" in names
    )
    assert f"solutions/{RUBRIC.assignment}/reference.py" in names
    assert not [n for n in names if "__pycache__" in n or "/.cache/" in n]
    assert not [
        n for n in names if n.startswith("autograder/") and not shipped(Path(n).relative_to("autograder"), NB74)
    ]
    assert modes["course-secret"] & 0o077 == 0
    with zipfile.ZipFile(zip_path) as z:  # the zip grades one assignment, and says which
        assert z.read("assignment").decode() == f"{NB74.name}\n"


def test_the_same_kit_gives_the_same_zip(zip_path: Path, tmp_path: Path) -> None:
    assert build_zip(tmp_path, NB74).read_bytes() == zip_path.read_bytes()


# -- grading ---------------------------------------------------------------------------------------


def test_solution_gets_full_marks_in_gradescopes_format(gradescope: Gradescope) -> None:
    r = gradescope.submit({EXPECTED: SOLUTION})
    assert r["score"] == RUBRIC.max_score == sum(t["max_score"] for t in r["tests"])
    assert r["execution_time"] > 0 and "合計 100.00 / 100" in r["output"]
    assert r["visibility"] in VISIBILITIES and r["stdout_visibility"] == "hidden"
    for t in r["tests"]:
        assert set(t) == {"name", "score", "max_score", "status", "output", "tags", "visibility"}
        assert t["status"] == "passed" and t["score"] == t["max_score"]
        assert t["tags"][0] in RUBRIC.parts and t["visibility"] == RUBRIC.part_visibility(t["tags"][0])
    assert r["extra_data"]["isolation"].startswith(("bwrap", "process"))


def test_release_gets_nothing(gradescope: Gradescope) -> None:
    r = gradescope.submit({EXPECTED: RELEASE})
    assert r["score"] == 0 and all(t["status"] == "failed" for t in r["tests"])


def test_buggy_submission_gets_the_judges_exact_scores_and_diagnosis(
    gradescope: Gradescope, buggy: Path, tmp_path: Path
) -> None:
    r = gradescope.submit({EXPECTED: buggy})
    judge = judge_cli(buggy, tmp_path)
    assert r["score"] == judge["score"] and 0 < r["score"] < 100
    by_part: dict[str, float] = {}
    for t in judge["tests"]:
        by_part[t["part"]] = by_part.get(t["part"], 0.0) + t["score"]
    assert {t["tags"][0]: t["score"] for t in r["tests"]} == pytest.approx(by_part)
    assert r["extra_data"]["cases"] == [[t["name"], t["score"], t["status"]] for t in judge["tests"]]
    linear = next(t for t in r["tests"] if t["tags"] == ["linear"])
    assert linear["status"] == "failed" and linear["output"].startswith("- 見立て: ") and "転置" in linear["output"]
    assert "transposed" in r["extra_data"]["diagnoses"]


def test_one_row_per_rubric_part_with_its_japanese_title(gradescope: Gradescope, buggy: Path) -> None:
    """Students read one row per part (its title, points and messages), not one per pytest case."""
    r = gradescope.submit({EXPECTED: buggy})
    parts = list(RUBRIC.parts.values())
    assert [t["name"] for t in r["tests"]] == [part_label(p) for p in parts]
    assert [t["tags"] for t in r["tests"]] == [[p.name] for p in parts]
    assert [t["max_score"] for t in r["tests"]] == [p.points for p in parts]
    assert all("::" not in t["name"] and "test_" not in t["name"] for t in r["tests"])
    assert r["tests"][0]["name"] == "Linear.backward（3.2 節）"
    rows = {t["tags"][0]: t for t in r["tests"]}
    for name in ("linear", "mse"):  # the two bugs (TWO_BUGS): failed, each diagnosis once, cases summarised
        row = rows[name]
        assert row["status"] == "failed" and row["score"] < row["max_score"], row
        assert row["output"].count("見立て: ") == 1 and row["output"].count("（正しくは") <= 1, row["output"]
        assert "通りの入力" in row["output"], row["output"]
    assert rows["relu"] == {**rows["relu"], "status": "passed", "output": "すべての確認に合格しました"}
    assert sum(t["score"] for t in r["tests"]) == pytest.approx(r["score"])


def test_results_hold_no_grader_code_or_hidden_test(gradescope: Gradescope, buggy: Path, tmp_path: Path) -> None:
    for name, nb in (("buggy", buggy), ("release", RELEASE)):
        r = gradescope.submit({EXPECTED: nb})
        folder = tmp_path / name
        folder.mkdir()
        (folder / "results.json").write_text(json.dumps(r, ensure_ascii=False, indent=1), encoding="utf-8")
        assert find_leaks(folder) == [], name


def test_process_level_isolation_without_namespaces(gradescope: Gradescope, buggy: Path, tmp_path: Path) -> None:
    """What a container without user namespaces gets: rlimits, dropped privileges, Landlock and
    seccomp where the kernel has them, the level recorded, the same scores."""
    r = gradescope.submit({EXPECTED: buggy}, AUTOGRADER_ISOLATION="process")
    level = r["extra_data"]["isolation"]
    assert level.startswith("process") and "seccomp" in level and ("uid-nobody" in level or "no-caps" in level)
    assert f"隔離レベル: {level}" in r["output"]
    assert r["score"] == judge_cli(buggy, tmp_path)["score"]


# -- what the student uploaded ----------------------------------------------------------------------


def test_no_notebook(gradescope: Gradescope) -> None:
    r = gradescope.submit({"matrix_backprop.py": "print('hello')\n"})
    assert r["score"] == 0 and "ノートブック（.ipynb）が提出されていません" in r["output"]
    assert "matrix_backprop.py" in r["output"] and EXPECTED in r["output"]


def test_empty_submission(gradescope: Gradescope) -> None:
    r = gradescope.submit({})
    assert r["score"] == 0 and "提出されたファイル: なし" in r["output"]


def test_not_json(gradescope: Gradescope) -> None:
    r = gradescope.submit({EXPECTED: b"{ not json"})
    assert r["score"] == 0 and f"提出ファイル {EXPECTED} は JSON ではない" in r["output"]
    r = gradescope.submit({EXPECTED: b"\x89PNG\r\n\x1a\n"})
    assert r["score"] == 0 and f"提出ファイル {EXPECTED} は UTF-8 ではない" in r["output"]


def test_json_that_is_not_a_notebook(gradescope: Gradescope) -> None:
    r = gradescope.submit({EXPECTED: "[1, 2, 3]"})
    assert r["score"] == 0 and EXPECTED in r["output"] and r["tests"][0]["output"]


def test_renamed_notebook_is_graded_with_a_note(gradescope: Gradescope) -> None:
    r = gradescope.submit({"課題74_提出.ipynb": SOLUTION})
    assert r["score"] == 100
    assert f"課題74_提出.ipynb を採点しました（ファイル名は {EXPECTED} にしてください）" in r["output"]


def test_two_notebooks_the_one_with_the_assignments_name_is_graded(gradescope: Gradescope) -> None:
    r = gradescope.submit({EXPECTED: SOLUTION, "old/draft.ipynb": RELEASE})
    assert r["score"] == 100
    assert (
        f"ノートブックが 2 個あります。名前が {EXPECTED} なので {EXPECTED} を採点し、old/draft.ipynb は採点していません"
        in r["output"]
    )


def test_two_renamed_notebooks_the_newest_is_graded(gradescope: Gradescope) -> None:
    now = time.time()
    for newest, expected_score in (("v1.ipynb", 100), ("v2.ipynb", 0)):
        older = "v2.ipynb" if newest == "v1.ipynb" else "v1.ipynb"
        r = gradescope.submit({"v1.ipynb": SOLUTION, "v2.ipynb": RELEASE}, mtimes={newest: now, older: now - 3600})
        assert r["score"] == expected_score
        assert (
            f"ノートブックが 2 個あります。この課題のノートブックのうち最後に更新されたものなので {newest} を採点し、"
            f"{older} は採点していません"
        ) in r["output"]


def test_a_symbolic_link_is_never_followed(gradescope: Gradescope) -> None:
    source_nb = gradescope.root / "source" / "source" / RUBRIC.assignment / EXPECTED
    assert source_nb.is_file()
    r = gradescope.submit({EXPECTED: f"->{source_nb}"})
    assert r["score"] == 0 and "シンボリックリンクのため読みません" in r["output"]


def test_visibility_is_a_setting_of_the_rubric(tmp_path: Path) -> None:
    text = (NB74.rubric_path).read_text(encoding="utf-8")
    assert '[gradescope]\nvisibility = "visible"' in text
    changed = text.replace('[gradescope]\nvisibility = "visible"', '[gradescope]\nvisibility = "after_published"')
    changed = changed.replace("[parts.mlp]\n", '[parts.mlp]\nvisibility = "hidden"\n')
    (tmp_path / "rubric.toml").write_text(changed, encoding="utf-8")
    r = load_rubric(tmp_path / "rubric.toml")
    assert r.part_visibility("linear") == "after_published" and r.part_visibility("mlp") == "hidden"
    (tmp_path / "bad.toml").write_text(changed.replace('"hidden"', '"everyone"'), encoding="utf-8")
    with pytest.raises(ValueError, match="everyone"):
        load_rubric(tmp_path / "bad.toml")
