"""Submissions as they really arrive, through `python -m autograder batch` and `nbgrader autograde`.

One course holds every case next to a correct control submission; the batch grades it once (with
feedback, its peak memory measured) and, on a copy with the gradebook as released, `nbgrader
autograde` grades it once, both at the same time. Every case must give a clear Japanese message
(gradebook comment and/or the leading "採点メモ" cell of the graded notebook), a score for what can
be scored, and never stop the batch or cost another student a grade.

nbgrader reads every notebook through the kit's intake (autograder/routes/nbgrader_hooks/): a refused
one (not JSON, too deep, malformed) is graded as the release with the reason, and grade_ids are
normalised against the release as in the batch, so both routes give the same score and reason on
malformed notebooks (SAME_VERDICT); its pre-convert hook removes special files, renames another
file name to the released one and drops a timestamp.txt that is not a date, as the batch reads
them. Only a folder without a notebook is not graded by nbgrader (it never sees it); the tests check
that nbgrader loses no other grade and agrees with the batch on every other student. The batch is
run twice: the rerun records every student exactly once and changes nothing.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from autograder.course.assignment import ROOT
from autograder.routes.nbgrader_hooks.exporters.feedback import mathjax_script
from tests.course import (
    NB,
    RUBRIC,
    A,
    batch_cmd,
    comments,
    copy_course,
    env,
    journal_count,
    make_course,
    place,
    scores,
    submission_dir,
)
from tests.judged import part_scores
from tests.submissions import RELEASE, SOLUTION, answer_source

pytestmark = pytest.mark.slow

BIG_MB = 200
ODD_NAME = "課題 74 山田 (1).ipynb"
# Peak of any one process of the batch with a 200 MB output in the class. Measured 969 MB: the
# judge's read_submission holds the file's bytes, its decoded text and the parsed notebook at once
# (~4x the file); one more copy anywhere (results, pickling, pretty-printing) goes over.
MAX_RSS_MB = 1200
# Students nbgrader itself cannot grade (it logs an error for each and goes on with the others).
# (A refused notebook is graded by nbgrader too, as the release with the reason: autograder.routes.nbgrader_hooks.exporters.intake.)
# Since the kit's pre-convert hook (autograder.routes.nbgrader_hooks.pre_convert.prepare_submission) only a folder with
# no notebook at all: nbgrader never sees it.
NBGRADER_CANNOT = {"empty-folder"}


def gid(cell: dict) -> str:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")


def solution() -> dict:
    return json.loads(SOLUTION.read_text(encoding="utf-8"))


def dumps(nb: dict) -> bytes:
    return json.dumps(nb, ensure_ascii=False, indent=1).encode("utf-8")


def deleted() -> bytes:
    nb = solution()
    nb["cells"] = [c for c in nb["cells"] if gid(c) not in ("sigmoid", "test_relu", "given_layer")]
    return dumps(nb)


def reordered() -> bytes:
    nb = solution()
    nb["cells"].reverse()
    return dumps(nb)


def edited_test_cell() -> bytes:
    nb = solution()
    for c in nb["cells"]:
        if gid(c) == "test_linear":
            c["source"] = "# テストは不要\nprint(20.0)"
    return dumps(nb)


def renamed() -> bytes:
    nb = solution()
    for c in nb["cells"]:
        if gid(c) in ("linear", "test_sigmoid"):
            c["metadata"]["nbgrader"]["grade_id"] += "_v2"
    return dumps(nb)


def unknown_kernel() -> bytes:
    nb = solution()
    nb["metadata"]["kernelspec"] = {
        "name": "conda-env-dl2024-py",
        "display_name": "Python [conda env:dl2024]",
        "language": "python",
    }
    return dumps(nb)


def nbformat_v3() -> bytes:
    nb3 = nbformat.convert(nbformat.read(SOLUTION, as_version=4), 3)
    data = nbformat.writes(nb3, version=3).encode("utf-8")
    assert json.loads(data)["nbformat"] == 3 and "worksheets" in json.loads(data)
    return data


def malformed() -> bytes:
    nb = solution()
    nb["cells"][:0] = ["セルではない文字列", {"cell_type": "code", "metadata": ["not", "a", "dict"], "source": 3}]
    return dumps(nb)


def write_huge(path: Path) -> None:
    """The solution with a BIG_MB text output in the Linear cell, written in chunks (about a second)."""
    nb = solution()
    for c in nb["cells"]:
        if gid(c) == "linear":
            c["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "@@BIG@@"}]
    head, tail = json.dumps(nb, ensure_ascii=False).split("@@BIG@@")
    chunk = ("損失 = 0.123456789 " * 5 + "\\n") * 10_000  # JSON-escaped newlines
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        f.write(head)
        for _ in range(BIG_MB * (1 << 20) // len(chunk.encode("utf-8")) + 1):
            f.write(chunk)
        f.write(tail)


def deep_json() -> bytes:
    """The solution with notebook metadata nested 1,000 levels deep (json.loads: RecursionError)."""
    text = dumps(solution()).decode("utf-8")
    return text.replace('"metadata": {', '"metadata": {"x": ' + "[" * 1000 + "]" * 1000 + ", ", 1).encode("utf-8")


def lone_surrogate() -> bytes:
    """Lone surrogates (escaped: valid JSON, but no UTF-8 can hold them) in a markdown cell and in
    a comment of an answer cell."""
    nb = solution()
    for c in nb["cells"]:
        if c["cell_type"] == "markdown":
            c["source"] = "メモ \ud800 です"
            break
    for c in nb["cells"]:
        if gid(c) == "relu":
            c["source"] = "# \udfff\n" + "".join(c["source"])
    return json.dumps(nb, ensure_ascii=True).encode("ascii")


def with_cell(gid_: str, change) -> bytes:
    nb = solution()
    out = []
    for c in nb["cells"]:
        out.append(c)
        if gid(c) == gid_:
            out.extend(change(c))
    nb["cells"] = out
    return dumps(nb)


def duplicate_ids() -> bytes:
    """A second cell named "linear" (nbgrader keeps the last of duplicates, the judge the first)."""
    return with_cell("linear", lambda c: [{**c, "metadata": json.loads(json.dumps(c["metadata"])), "source": DW_T}])


def lookalike(new_id: str) -> bytes:
    """The answer cell "linear" renamed to a look-alike id, which matches nothing on any route."""
    nb = solution()
    for c in nb["cells"]:
        if gid(c) == "linear":
            c["metadata"]["nbgrader"]["grade_id"] = new_id
    return dumps(nb)


def helper_cell() -> bytes:
    """A helper function in a cell of the student's own, above the answer that calls it."""
    nb = solution()
    at = next(i for i, c in enumerate(nb["cells"]) if gid(c) == "linear")
    nb["cells"][at]["source"] = answer_source("linear").replace(
        "dx = dout @ self.params['W'].T", "dx = mat_t(dout, self.params['W'])"
    )
    assert "mat_t" in nb["cells"][at]["source"]
    helper = "def mat_t(a, w):\n    return a @ w.T\n\nprint(mat_t(np.ones((1, 2)), np.ones((3, 2))))\n"
    nb["cells"].insert(
        at,
        {"cell_type": "code", "execution_count": None, "id": "mine", "metadata": {}, "outputs": [], "source": helper},
    )
    return dumps(nb)


def metadata_lost() -> bytes:
    """Copied into a fresh notebook: no cell metadata, no ids (nbformat 4.4)."""
    nb = solution()
    for c in nb["cells"]:
        c["metadata"] = {}
        c.pop("id", None)
    nb["nbformat_minor"] = 4
    return dumps(nb)


def answers_merged() -> bytes:
    """Every class pasted into the Linear cell, the other answer cells deleted (VS Code allows it)."""
    nb = solution()
    classes = ["linear", "sigmoid", "relu", "tanh", "mse", "softmax_ce"]
    merged = "\n\n".join(answer_source(g) for g in classes)
    nb["cells"] = [
        {**c, "source": merged} if gid(c) == "linear" else c for c in nb["cells"] if gid(c) not in classes[1:]
    ]
    return dumps(nb)


def invalid_cell_ids() -> bytes:
    nb = solution()
    for i, c in enumerate(nb["cells"]):
        c["id"] = "セル id!" if i % 2 else "same"
    return dumps(nb)


def wide_json() -> bytes:
    """50 MB of `{}` in the notebook's metadata: 17 million JSON values (a parse of 2+ GB)."""
    text = dumps(solution()).decode("utf-8")
    return text.replace('"metadata": {', '"metadata": {"x": [' + "{}," * ((50 << 20) // 3) + "{}], ", 1).encode("utf-8")


def markdown_bomb() -> bytes:
    """250 markdown cells of `*_` * 10,000 (5 MB): slow to render, huge once rendered."""
    nb = solution()
    nb["cells"] += [{"cell_type": "markdown", "metadata": {}, "source": "*_" * 10_000} for _ in range(250)]
    return dumps(nb)


def forged_points() -> bytes:
    """The answer cell "linear" flagged as a graded cell worth 1,000 points."""
    nb = solution()
    for c in nb["cells"]:
        if gid(c) == "linear":
            c["metadata"]["nbgrader"].update(grade=True, points=1000)
    return dumps(nb)


DW_T = answer_source("linear").replace("x.T @ dout", "dout.T @ x")
CASES = {  # student -> {file name: content}
    "control": {NB: SOLUTION.read_bytes()},
    "not-json": {NB: b'{"cells": [ {"cell_type": "code", "source": "class Linear'},
    "malformed": {NB: malformed()},
    "nbformat-v3": {NB: nbformat_v3()},
    "cells-deleted": {NB: deleted()},
    "cells-reordered": {NB: reordered()},
    "test-cell-edited": {NB: edited_test_cell()},
    "grade-ids-renamed": {NB: renamed()},
    "unknown-kernel": {NB: unknown_kernel()},
    "huge-output": {},  # written by write_huge
    "odd-file-name": {ODD_NAME: SOLUTION.read_bytes()},
    "empty-folder": {},
    "deep-json": {NB: deep_json()},
    "lone-surrogate": {NB: lone_surrogate()},
    "timestamp-not-a-date": {NB: SOLUTION.read_bytes(), "timestamp.txt": "来週出します".encode()},
    "timestamp-not-utf8": {NB: SOLUTION.read_bytes(), "timestamp.txt": b"2024-06-01 \xff\xfe10:00"},
    "name-not-utf8": {os.fsdecode(b"matrix_backprop\xff.ipynb"): SOLUTION.read_bytes()},
    "duplicate-ids": {NB: duplicate_ids()},
    "lookalike-zero-width": {NB: lookalike("linear\u200b")},
    "lookalike-cyrillic": {NB: lookalike("lin\u0435ar")},
    "forged-points": {NB: forged_points()},
    "helper-cell": {NB: helper_cell()},
    "metadata-lost": {NB: metadata_lost()},
    "answers-merged": {NB: answers_merged()},
    "invalid-cell-ids": {NB: invalid_cell_ids()},
    "wide-json": {NB: wide_json()},
    "markdown-bomb": {NB: markdown_bomb()},
    "special-files": {NB: SOLUTION.read_bytes()},  # and a FIFO and a socket, made by the fixture
    "long-name": {"a" * 236 + ".ipynb": SOLUTION.read_bytes()},
    "newline-name": {"matrix\nbackprop.ipynb": SOLUTION.read_bytes()},
    "two-notebooks": {
        NB: dumps(
            {**solution(), "cells": [{**c, "source": DW_T} if gid(c) == "linear" else c for c in solution()["cells"]]}
        ),
        "matrix_backprop-Copy1.ipynb": SOLUTION.read_bytes(),
    },
}
# Same answers as the control: the same score, part by part.
LIKE_CONTROL = [
    "nbformat-v3",
    "cells-reordered",
    "test-cell-edited",
    "unknown-kernel",
    "huge-output",
    "odd-file-name",
    "lone-surrogate",
    "timestamp-not-a-date",
    "timestamp-not-utf8",
    "name-not-utf8",
    "forged-points",
    "grade-ids-renamed",
    "lookalike-zero-width",
    "lookalike-cyrillic",
    "helper-cell",
    "metadata-lost",
    "answers-merged",
    "invalid-cell-ids",
    "markdown-bomb",
    "special-files",
    "long-name",
    "newline-name",
]
# Correct answers laid on the release another way than by their metadata: a note says how.
RECOVERED = {
    "grade-ids-renamed": "見つからなかった解答を",
    "lookalike-cyrillic": "見つからなかった解答を",
    "metadata-lost": "内容から見つけて",
    "answers-merged": "定義ごとに分けて",
    "helper-cell": "定義も採点で読み込みました",
    "markdown-bomb": "マークダウンセルが多すぎる",
}
# Malformed notebooks: the same score and the same reason through nbgrader autograde and the batch.
SAME_VERDICT = {
    "deep-json": "入れ子が深すぎる",
    "duplicate-ids": "grade_id「linear」のセルが複数あった",
    "lookalike-zero-width": "grade_id「linear\\u200b」は配布ノートブックにない",
    "lookalike-cyrillic": "grade_id「lin\\u0435ar」は配布ノートブックにない",
    "forged-points": "grade_id「linear」のセルの nbgrader 設定（配点など）が配布時と違う",
    "lone-surrogate": "対になっていないサロゲート",
    "not-json": "JSON ではない",
    "wide-json": "JSON の要素が多すぎる",
}

WRAP = (
    "import resource, subprocess, sys\nrc = subprocess.run(sys.argv[1:]).returncode\n"
    "print('MAXRSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\nsys.exit(rc)"
)


class Run:
    course: Path  # graded by the batch
    ngcourse: Path  # graded by nbgrader autograde
    batch: subprocess.CompletedProcess
    autograde: subprocess.CompletedProcess
    feedback: subprocess.CompletedProcess  # nbgrader generate_feedback on the nbgrader course
    rerun: subprocess.CompletedProcess  # the batch again, nothing changed
    max_rss_mb: float
    autograde_rss_mb: float
    feedback_rss_mb: float
    batch_scores: dict[str, dict[str, float]]
    nbgrader_scores: dict[str, dict[str, float]]
    comments: dict[str, str]
    nbgrader_comments: dict[str, str]
    seconds: dict[str, float]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    r = Run()
    tmp = tmp_path_factory.mktemp("bad-input")
    t0 = time.monotonic()
    r.course = course = make_course(tmp / "course")
    r.seconds = {"generate_assignment": round(time.monotonic() - t0, 1)}
    for student, files in CASES.items():
        place(course, student, None)
        for name, data in files.items():
            place(course, student, data, name=name)
    write_huge(submission_dir(course, "huge-output") / NB)
    r.ngcourse = copy_course(course, tmp / "nbgrader")
    for each in (course, r.ngcourse):  # after the copy: copytree cannot copy them
        special = submission_dir(each, "special-files")
        os.mkfifo(special / "pipe")
        cwd = os.getcwd()
        os.chdir(special)  # a socket's path is limited to 107 bytes
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind("sock")
        os.chdir(cwd)

    t0 = time.monotonic()
    batch_line = [sys.executable, "-c", WRAP, *batch_cmd(course, "--workers", "2")]
    ng_cmd = [
        sys.executable,
        "-m",
        "nbgrader",
        "autograde",
        A,
        f"--CourseDirectory.root={r.ngcourse}",
        f"--CourseDirectory.db_url=sqlite:///{r.ngcourse / 'gradebook.db'}",
    ]
    procs = {
        name: subprocess.Popen(
            cmd, cwd=ROOT, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace"
        )
        for name, cmd in (("batch", batch_line), ("autograde", [sys.executable, "-c", WRAP, *ng_cmd]))
    }
    for name, p in procs.items():
        out, err = p.communicate(timeout=1200)
        setattr(r, name, subprocess.CompletedProcess(p.args, p.returncode, out, err))
        r.seconds[name] = round(time.monotonic() - t0, 1)
    r.max_rss_mb = int(re.findall(r"MAXRSS_KB (\d+)", r.batch.stderr)[-1]) / 1024
    r.autograde_rss_mb = int(re.findall(r"MAXRSS_KB (\d+)", r.autograde.stderr)[-1]) / 1024
    t0 = time.monotonic()
    r.feedback = subprocess.run(
        [sys.executable, "-c", WRAP, *ng_cmd[:3], "generate_feedback", *ng_cmd[4:]],
        cwd=ROOT,
        env=env(),
        capture_output=True,
        text=True,
        errors="replace",
    )
    r.seconds["generate_feedback"] = round(time.monotonic() - t0, 1)
    r.feedback_rss_mb = int(re.findall(r"MAXRSS_KB (\d+)", r.feedback.stderr)[-1]) / 1024
    r.batch_scores = scores(course / "gradebook.db")
    r.nbgrader_scores = scores(r.ngcourse / "gradebook.db")
    r.comments = comments(course / "gradebook.db")
    r.nbgrader_comments = comments(r.ngcourse / "gradebook.db")
    r.rerun = subprocess.run(batch_line[3:], cwd=ROOT, env=env(), capture_output=True, text=True, errors="replace")
    print(
        f"\nseconds: {r.seconds}, peak RSS of a process: batch {r.max_rss_mb:.0f} MB, nbgrader autograde "
        f"{r.autograde_rss_mb:.0f} MB, generate_feedback {r.feedback_rss_mb:.0f} MB\n{r.batch.stdout}"
    )
    return r


def parts(row: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in row.items() if k != "_total"}


def memo(run: Run, student: str) -> str:
    """The leading 採点メモ cell of the batch's graded notebook as it reads ('' if there is none):
    its Markdown source without the backslash escapes (plain_text.markdown_escape)."""
    nb = json.loads((run.course / "autograded" / student / A / NB).read_text(encoding="utf-8"))
    first = nb["cells"][0]
    src = "".join(first["source"]) if isinstance(first["source"], list) else first["source"]
    return re.sub(r"\\(.)", r"\1", src) if first["cell_type"] == "markdown" and src.startswith("### 採点メモ") else ""


def feedback(course: Path, student: str) -> Path:
    return course / "feedback" / student / A / NB.replace(".ipynb", ".html")


def explained(run: Run, student: str, *words: str) -> None:
    """Each word in the gradebook comment, in the 採点メモ cell and in the feedback page."""
    page = feedback(run.course, student).read_text(encoding="utf-8")
    for word in words:
        assert word in run.comments[student], (word, run.comments[student])
        assert word in memo(run, student), (word, memo(run, student))
        assert word in page, word


# -- the batch ------------------------------------------------------------------------------------


def test_batch_finishes_and_records_every_student(run):
    # 1: some submissions could not be graded (not JSON...), all the others were (`batch --help`)
    assert run.batch.returncode == 1, run.batch.stderr[-3000:]
    assert "Traceback" not in run.batch.stderr, run.batch.stderr[-3000:]
    assert set(run.batch_scores) == set(CASES)
    for student in CASES:
        assert (run.course / "autograded" / student / A / NB).is_file(), student
        assert feedback(run.course, student).is_file(), student
    assert "フィードバックを作れなかった" not in run.batch.stdout


def test_control_gets_exactly_the_judges_score(run, solution_results):
    want = part_scores(solution_results)
    got = run.batch_scores["control"]
    assert parts(got) == {p.test_cell: pytest.approx(want[name]) for name, p in RUBRIC.parts.items()}
    assert got["_total"] == RUBRIC.max_score


@pytest.mark.parametrize("student", LIKE_CONTROL)
def test_same_answers_same_score(run, student):
    assert run.batch_scores[student] == run.batch_scores["control"]


def test_not_json(run):
    assert run.batch_scores["not-json"]["_total"] == 0.0
    explained(run, "not-json", "JSON ではない")


def test_json_but_not_a_notebook_structure(run):
    assert run.batch_scores["malformed"]["_total"] == 0.0
    assert re.search(r"[ぁ-んァ-ン一-龥]", memo(run, "malformed")), memo(run, "malformed")
    assert memo(run, "malformed") and run.comments["malformed"]


def test_deleted_cells_cost_only_their_part(run):
    got, full = run.batch_scores["cells-deleted"], run.batch_scores["control"]
    assert got["test_sigmoid"] == 0.0
    backward = [p.test_cell for p in RUBRIC.parts.values() if p.kind == "backward" and p.name != "sigmoid"]
    assert {c: got[c] for c in backward} == {c: full[c] for c in backward}  # test_relu was deleted too
    explained(run, "cells-deleted", "解答セル「sigmoid」", "見つかりません")


@pytest.mark.parametrize("student", sorted(RECOVERED))
def test_recovered_answers_get_full_marks_and_a_note_on_both_routes(run, student):
    assert run.batch_scores[student] == run.batch_scores["control"] == run.nbgrader_scores[student]
    explained(run, student, RECOVERED[student])
    assert RECOVERED[student] in run.nbgrader_comments[student]


def test_a_duplicated_answer_cell_is_graded_as_run_all_leaves_it(run):
    """The second "linear" cell (the transposed dW) runs after the first, as in the student's
    "Run All": its bug is graded, on both routes, with a note."""
    got, full = run.batch_scores["duplicate-ids"], run.batch_scores["control"]
    assert got["test_linear"] < full["test_linear"] and got["test_sigmoid"] == full["test_sigmoid"]
    assert run.nbgrader_scores["duplicate-ids"] == got


@pytest.mark.parametrize("route", ["batch", "nbgrader"])
def test_an_edited_test_cell_is_shown_as_released(run, route):
    course = run.course if route == "batch" else run.ngcourse
    nb = json.loads((course / "autograded" / "test-cell-edited" / A / NB).read_text(encoding="utf-8"))
    release = json.loads(RELEASE.read_text(encoding="utf-8"))
    src = lambda c: "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
    shown = [src(c) for c in nb["cells"] if gid(c) == "test_linear"]
    assert shown == [src(c).rstrip("\n") for c in release["cells"] if gid(c) == "test_linear"]


def test_huge_output_keeps_memory_and_files_small(run):
    assert (submission_dir(run.course, "huge-output") / NB).stat().st_size > BIG_MB * 10**6
    assert run.max_rss_mb < MAX_RSS_MB, f"peak RSS {run.max_rss_mb:.0f} MB"
    assert (run.course / "autograded" / "huge-output" / A / NB).stat().st_size < 1 << 20
    assert feedback(run.course, "huge-output").stat().st_size < 5 << 20
    assert len(run.comments["huge-output"]) < 10_000


def test_wide_json_and_markdown_bombs_stay_within_every_process_budget(run):
    """Findings 6 and 7 of issue 22: 17 million JSON values, 5 MB of slow markdown. Every process
    that touches them stays within its stated budget (README: "Budgets"); what nbgrader and the
    formgrader see is the canonical notebook, small whatever was sent."""
    assert run.autograde_rss_mb < MAX_RSS_MB, f"nbgrader autograde peak RSS {run.autograde_rss_mb:.0f} MB"
    assert run.feedback_rss_mb < 1000, f"generate_feedback peak RSS {run.feedback_rss_mb:.0f} MB"
    for course in (run.course, run.ngcourse):
        for student in ("wide-json", "markdown-bomb"):
            assert (course / "autograded" / student / A / NB).stat().st_size < 1 << 20, (course, student)
            # the page beside the MathJax inlined in every feedback page (about 2 MB, the same for all)
            page = feedback(course, student).stat().st_size - len(mathjax_script().encode("utf-8"))
            assert page < 2 << 20, (course, student)


def test_odd_file_name_is_graded_and_named(run):
    explained(run, "odd-file-name", ODD_NAME)


def test_empty_folder(run):
    assert run.batch_scores["empty-folder"]["_total"] == 0.0
    explained(run, "empty-folder", "ノートブック（.ipynb）がありません")


def test_two_notebooks_the_expected_name_is_graded(run):
    got = run.batch_scores["two-notebooks"]
    assert got["test_linear"] < run.batch_scores["control"]["test_linear"]  # matrix_backprop.ipynb has the bug
    explained(run, "two-notebooks", "matrix_backprop-Copy1.ipynb", f"{NB} を採点しました")


# -- nbgrader autograde on the same submissions ----------------------------------------------------


def test_nbgrader_fails_only_the_students_it_cannot_read(run):
    log = run.autograde.stdout + run.autograde.stderr
    failed = set(re.findall(r"error processing assignment '[^']*' for student '([^']*)'", log))
    assert failed <= NBGRADER_CANNOT, failed
    assert set(CASES) - NBGRADER_CANNOT <= set(run.nbgrader_scores)


@pytest.mark.parametrize("student", sorted(set(CASES) - NBGRADER_CANNOT))
def test_nbgrader_agrees_with_the_batch(run, student):
    assert run.nbgrader_scores[student] == run.batch_scores[student]


# -- the same verdict on every route, and a rerun --------------------------------------------------


@pytest.mark.parametrize("student", sorted(SAME_VERDICT))
def test_malformed_notebooks_get_the_same_verdict_and_reason_on_both_routes(run, student):
    assert run.nbgrader_scores[student] == run.batch_scores[student]
    reason = SAME_VERDICT[student]
    assert reason in run.comments[student], run.comments[student]
    assert reason in run.nbgrader_comments[student], run.nbgrader_comments[student]
    for course in (run.course, run.ngcourse):
        assert reason in feedback(course, student).read_text(encoding="utf-8"), course


def test_deep_json_scores_zero_on_both_routes(run):
    assert run.batch_scores["deep-json"]["_total"] == 0.0 == run.nbgrader_scores["deep-json"]["_total"]


def test_bad_timestamps_and_names_are_graded_with_a_note(run):
    explained(run, "timestamp-not-a-date", "timestamp.txt が日時ではない")
    explained(run, "timestamp-not-utf8", "UTF-8 ではありません")
    explained(run, "name-not-utf8", "matrix_backprop\ufffd.ipynb")
    explained(run, "lone-surrogate", "対になっていないサロゲート")
    assert not (run.course / "autograded" / "timestamp-not-a-date" / A / "timestamp.txt").exists()


def test_nbgrader_feedback_for_every_student_it_graded(run):
    for student in run.nbgrader_scores:
        if student not in NBGRADER_CANNOT:
            assert feedback(run.ngcourse, student).is_file(), (student, run.feedback.stderr[-2000:])


def test_a_rerun_records_every_student_exactly_once(run):
    assert run.rerun.returncode == 0, run.rerun.stderr[-3000:]
    assert "Traceback" not in run.rerun.stderr
    assert re.search(rf"変更なしで省略\s+{len(CASES)}", run.rerun.stdout), run.rerun.stdout
    assert journal_count(run.course / "gradebook.db") == len(CASES)
    assert scores(run.course / "gradebook.db") == run.batch_scores
