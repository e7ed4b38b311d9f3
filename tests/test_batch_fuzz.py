"""Property: whatever lands in submitted/, `python -m autograder batch` finishes and records every
student exactly once, with a score in [0, max] and, for a 0, a reason.

Hypothesis (pinned in requirements.lock) builds whole classes of submission folders: notebooks
mutated at the JSON and at the byte level (truncated, flipped bytes, deep nesting, lone
surrogates, odd metadata, sources and grade_ids, other encodings), odd file names (other names,
non-UTF-8 bytes, several notebooks, none, a folder or a FIFO named .ipynb), timestamp.txt (a
date, garbage, not UTF-8, a link, a folder) and symbolic links (notebook to source/ or the
solution, extra files, a dangling link, the whole folder). Each example is one class of
STUDENTS_PER_EXAMPLE folders in one course, graded by one real batch run (2 workers, with
nbgrader's generate_feedback on every FEEDBACK_EVERY-th class). EXAMPLES examples (96 folders), derandomized (a fixed seed: the same classes on
every run, no example database); no shrinking, which would rerun the batch hundreds of times (a
failure prints the class that failed). About 2 minutes on 2 cores.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.course import FRESH_DB, NB, RUBRIC, A, batch, comments, journal_students, make_course, scores
from tests.nb74 import NB74
from tests.submissions import RELEASE, SOLUTION

pytestmark = pytest.mark.slow

EXAMPLES = 12
STUDENTS_PER_EXAMPLE = 8
FEEDBACK_EVERY = 4  # nbgrader's generate_feedback costs ~1 s a student: on every 4th class only
RUNS: list[int] = []


def _one_bug() -> dict:
    """The solution with the seed's MSE gradient (D times too large): a partial score to mutate."""
    nb = json.loads(SOLUTION.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "mse":
            src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            assert "/ y.size" in src
            cell["source"] = src.replace("/ y.size", "/ y.shape[0]")
    return nb


BASES = {
    "solution": json.loads(SOLUTION.read_text(encoding="utf-8")),
    "release": json.loads(RELEASE.read_text(encoding="utf-8")),
    "one bug": _one_bug(),
}
GRADE_IDS = [
    c["metadata"]["nbgrader"]["grade_id"] for c in BASES["release"]["cells"] if "nbgrader" in c.get("metadata", {})
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
odd_ids = (
    st.sampled_from(GRADE_IDS)
    | st.sampled_from(["linear\u200b", "ｌｉｎｅａｒ", "lin\u0435ar", "LINEAR", "", "test_linear ", "\ud800"])
    | json_values
)


@st.composite
def notebooks(draw) -> bytes:
    nb = json.loads(json.dumps(BASES[draw(st.sampled_from(sorted(BASES)))]))
    cells = nb["cells"]
    for _ in range(draw(st.integers(0, 2))):
        op = draw(
            st.sampled_from(
                [
                    "metadata",
                    "nbgrader",
                    "grade_id",
                    "points",
                    "source",
                    "drop",
                    "dup",
                    "cell",
                    "deep",
                    "surrogate",
                    "top",
                ]
            )
        )
        i = draw(st.integers(0, len(cells) - 1)) if cells else 0
        cell = cells[i] if cells else {}
        meta = cell.get("metadata") if isinstance(cell, dict) else None
        nbg = meta.get("nbgrader") if isinstance(meta, dict) else None
        if op == "metadata" and isinstance(cell, dict):
            cell["metadata"] = draw(json_values)
        elif op == "nbgrader" and isinstance(meta, dict):
            meta["nbgrader"] = draw(json_values)
        elif op == "grade_id" and isinstance(nbg, dict):
            nbg["grade_id"] = draw(odd_ids)
        elif op == "points" and isinstance(nbg, dict):
            nbg.update(grade=draw(json_values), solution=draw(st.booleans()), points=draw(json_values))
        elif op == "source" and isinstance(cell, dict):
            cell["source"] = draw(json_values)
        elif op == "drop" and cells:
            del cells[i]
        elif op == "dup" and cells:
            cells.insert(draw(st.integers(0, len(cells))), json.loads(json.dumps(cell)))
        elif op == "cell" and cells:
            cells[i] = draw(json_values)
        elif op == "deep":
            depth = draw(st.sampled_from([30, 70, 1000, 5000]))
            nb["metadata"] = {"x": "@@DEEP@@"}
        elif op == "surrogate" and isinstance(cell, dict):
            cell["source"] = "x = '\ud800'  # \udfff"
        elif op == "top":
            nb[draw(st.sampled_from(["nbformat", "cells", "metadata", "nbformat_minor"]))] = draw(json_values)
    text = json.dumps(nb, ensure_ascii=draw(st.booleans()), allow_nan=True)
    if "@@DEEP@@" in text:
        text = text.replace('"@@DEEP@@"', "[" * depth + "]" * depth)
    data = text.encode("utf-8", "surrogatepass")
    how = draw(st.sampled_from(["utf8"] * 6 + ["truncate", "flip", "utf16", "latin1", "empty"]))
    if how == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif how == "flip":
        for _ in range(draw(st.integers(1, 5))):
            k = draw(st.integers(0, len(data) - 1))
            data = data[:k] + bytes([draw(st.integers(0, 255))]) + data[k + 1 :]
    elif how == "utf16":
        data = text.encode("utf-16", "surrogatepass")
    elif how == "latin1":
        data = text.encode("latin-1", "replace")
    elif how == "empty":
        data = b""
    return data


NOTEBOOK_NAMES = st.sampled_from(
    [NB, NB, NB, "課題74 (1).ipynb", "matrix_backprop-Copy1.ipynb", os.fsdecode(b"matrix\xff_backprop.ipynb")]
)
STAMPS = (
    st.sampled_from(
        ["2024-06-01 10:00:00.000000 UTC", "2024-06-01T10:00:00+09:00", "来週", "", "0" * 4000, "9999999-99-99", None]
    )
    | st.binary(max_size=40)
    | st.text(max_size=30)
)
LINK_TARGETS = {
    "source": lambda course: course / "source" / A / NB,
    "solution": lambda course: SOLUTION,
    "rubric": lambda course: NB74.rubric_path,
    "passwd": lambda course: Path("/etc/passwd"),
    "dangling": lambda course: course / "nothing-here",
}

folders = st.fixed_dictionaries(
    {
        "notebooks": st.lists(st.tuples(NOTEBOOK_NAMES, notebooks()), max_size=2),
        "stamp": STAMPS,
        "stamp_kind": st.sampled_from(["file", "file", "file", "link", "folder"]),
        "links": st.lists(
            st.tuples(
                st.sampled_from([NB, "extra.py", "timestamp.txt", "data.csv"]), st.sampled_from(sorted(LINK_TARGETS))
            ),
            max_size=2,
        ),
        "special": st.sampled_from([None, None, None, None, "folder-link", "dir-notebook", "fifo-notebook"]),
    }
)
classes = st.lists(folders, min_size=STUDENTS_PER_EXAMPLE, max_size=STUDENTS_PER_EXAMPLE)


def build(course: Path, student: str, spec: dict) -> None:
    folder = course / "submitted" / student / A
    if spec["special"] == "folder-link":  # the whole assignment folder is a link to the source
        folder.parent.mkdir(parents=True)
        os.symlink(course / "source" / A, folder)
        return
    folder.mkdir(parents=True)
    for name, data in spec["notebooks"]:
        (folder / name).write_bytes(data)
    stamp, kind = spec["stamp"], spec["stamp_kind"]
    if kind == "link":
        os.symlink("/etc/passwd", folder / "timestamp.txt")
    elif kind == "folder":
        (folder / "timestamp.txt").mkdir()
    elif stamp is not None:
        (folder / "timestamp.txt").write_bytes(stamp if isinstance(stamp, bytes) else stamp.encode("utf-8", "replace"))
    for name, target in spec["links"]:
        path = folder / name
        if path.is_symlink() or path.exists():
            path.unlink() if not path.is_dir() or path.is_symlink() else shutil.rmtree(path)
        os.symlink(LINK_TARGETS[target](course), path)
    if spec["special"] == "dir-notebook":
        (folder / "zz.ipynb").mkdir(exist_ok=True)
    elif spec["special"] == "fifo-notebook":
        os.mkfifo(folder / "zz-fifo.ipynb")


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    return make_course(tmp_path_factory.mktemp("fuzz") / "course")


@pytest.fixture(scope="module")
def totals() -> list[float]:
    """Every student's total over all examples: filled by the property test, checked by the last
    (a module fixture of both, so that they run in one process, in this order)."""
    return []


def reset(course: Path) -> None:
    for folder in ("submitted", "autograded", "feedback"):
        shutil.rmtree(course / folder, ignore_errors=True)
    shutil.copy2(course / FRESH_DB, course / "gradebook.db")


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
        HealthCheck.large_base_example,
    ],
)
@given(specs=classes, odd_student=st.booleans())
def test_the_batch_always_finishes_and_records_every_student_once(course, totals, specs, odd_student):
    reset(course)
    students = [f"s{i:02d}" + ("-山田" if i % 3 == 0 else "") for i in range(len(specs))]
    for student, spec in zip(students, specs):
        build(course, student, spec)
    if odd_student:  # not a student id (not UTF-8): reported, not recorded
        (course / "submitted" / os.fsdecode(b"bad\xff") / A).mkdir(parents=True)
    RUNS.append(len(RUNS))
    feedback = RUNS[-1] % FEEDBACK_EVERY == 0
    done = batch(course, "--workers", "2", *([] if feedback else ["--no-feedback"]), check=False)
    assert done.returncode in (0, 1), done.stderr[-4000:]  # 1: a fuzzed submission could not be graded
    assert "Traceback" not in done.stderr, done.stderr[-4000:]
    assert journal_students(course / "gradebook.db") == sorted(students)
    got = scores(course / "gradebook.db")
    assert sorted(got) == sorted(students)
    notes = comments(course / "gradebook.db")
    for student in students:
        assert 0.0 <= got[student]["_total"] <= RUBRIC.max_score
        assert (course / "autograded" / student / A / NB).is_file(), student
        if got[student]["_total"] == 0.0:
            assert notes[student].strip(), student
        if feedback:
            assert (course / "feedback" / student / A / NB.replace(".ipynb", ".html")).is_file(), student
    totals.extend(got[s]["_total"] for s in students)
    assert "フィードバックを作れなかった" not in done.stdout, done.stdout
    assert ("bad" in done.stderr) == odd_student


def test_the_fuzzed_classes_held_graded_and_refused_submissions(totals):
    """The property above is not vacuous: the classes held full, partial and zero scores."""
    assert len(totals) == EXAMPLES * STUDENTS_PER_EXAMPLE
    assert RUBRIC.max_score in totals and 0.0 in totals
    assert any(0.0 < t < RUBRIC.max_score for t in totals), sorted(set(totals))
