"""Finding 11: one submission could hold a grader for about 17 minutes; now its whole grade has a
wall-clock budget (sandbox/budget.py: SUBMISSION_BUDGET, loading included) and its cells a share of it
(CELLS_BUDGET, after which a top-level statement over SLOW_STATEMENT is skipped, also when its cell
re-runs after a restart). Each attack shape of the finding as a notebook, graded by the real judge
(bwrap sandbox where available): the time is printed and bounded, correct parts keep their points,
the reason is shown.

The budgets are scaled down here (the cell limit 10 -> 4 s, the cells' share 20 -> 6 s, the submission
60 -> 20 s) so that the module runs in about a minute; the attacks are built against those numbers as
they would be against the real ones (README, Budgets, gives the figures measured with the real ones).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from autograder.sandbox import budget, process
from tests.judged import grade_notebook, part_scores
from tests.nb74 import NB74
from tests.submissions import answer_source, make_submission

RUBRIC = NB74.rubric
CELL_TIMEOUT, CELLS_BUDGET, SUBMISSION_BUDGET = 4.0, 6.0, 20.0
SLEEP = 3.0  # a top-level statement just under the cell limit
# after the submission's budget ends: the call in flight is cut at once, its child killed (up to 2 s),
# the remaining tests fail without waiting, the sandbox is stopped
MARGIN = 5.0
LOADED = ("linear", "sigmoid", "relu", "tanh", "mse", "softmax_ce")  # the answer cells run at load


@pytest.fixture(autouse=True)
def scaled_budgets(monkeypatch):
    monkeypatch.setattr(process, "CELL_TIMEOUT", CELL_TIMEOUT)
    monkeypatch.setattr(budget, "CELLS_BUDGET", CELLS_BUDGET)
    monkeypatch.setattr(budget, "SUBMISSION_BUDGET", SUBMISSION_BUDGET)


def timed_grade(notebook: Path) -> tuple[dict, float]:
    start = time.monotonic()
    results = grade_notebook(notebook)
    seconds = time.monotonic() - start
    print(f"{notebook.stem}: {seconds:.1f} s, score {results['score']}, problems {results['problems']}")
    return results, seconds


def full(parts: tuple[str, ...]) -> dict[str, float]:
    return {p: RUBRIC.parts[p].points for p in parts}


def slow(cell: str) -> str:
    return f"{answer_source(cell)}\nimport time as _time\n_time.sleep({SLEEP})\n"


def test_slow_statements_at_load_use_only_the_cells_share(tmp_path):
    """Every answer cell sleeps just under the cell limit (6 x 3 s, each cell within its limit, so
    before: 18 s and full marks); now the cells' share (6 s) runs out after two cells and the other
    sleeps are cut at 1 s each: full marks still (the classes are defined), sooner, with the reason."""
    nb = make_submission(tmp_path / "slow_load.ipynb", {c: slow(c) for c in LOADED})
    results, seconds = timed_grade(nb)
    assert results["score"] == RUBRIC.max_score, results["problems"]
    assert any("1 秒以上かかるトップレベルの文を飛ばして採点しました" in p for p in results["problems"])
    assert any("セル relu" in p and "3.0 秒" not in p for p in results["problems"])  # cut, not timed
    # two sleeps, then a second (the statement limit) and a restart for each of the four others; before,
    # the six sleeps alone took 18 s
    assert seconds < CELLS_BUDGET + 4 * (1.0 + 0.5) + MARGIN == 6 * SLEEP - 1, seconds


HANG = "\nwhile True:\n    pass\n"


def test_hangs_that_force_restarts_no_longer_rerun_slow_cells(tmp_path):
    """Two slow cells, then three cells with two hanging statements each: before, each hang waited the
    cell limit and its restart re-ran both slow cells (6 + 6 x (4 + 6) = 66 s); now the hangs are cut
    at 1 s once the cells' share is spent and the restarts skip the slow statements."""
    cells = {c: slow(c) for c in ("linear", "sigmoid")}
    cells |= {c: answer_source(c) + HANG + HANG for c in ("relu", "tanh", "mse")}
    results, seconds = timed_grade(make_submission(tmp_path / "hangs.ipynb", cells))
    assert results["score"] == RUBRIC.max_score, results["problems"]  # each class is defined above its hangs
    text = " ".join(results["problems"])
    assert "セル relu" in text and "1 秒で終わりませんでした" in text, results["problems"]
    assert seconds < CELLS_BUDGET + 6 * (1.0 + 1.0) + MARGIN, seconds


KILL_ZYGOTE = """
        import os, signal
        os.kill(os.getppid(), signal.SIGKILL)   # the part's child kills the zygote it was forked from
"""


def killing(cell: str, cls: str) -> str:
    """The correct cell, whose forward first kills the student's zygote (every part's restart then
    re-runs all the cells: two slow ones here)."""
    source = answer_source(cell)
    marker = "    def forward(self"
    assert marker in source, cell
    head, _, tail = source.partition(marker)
    signature, _, body = tail.partition("\n")
    return f"{head}{marker}{signature}\n{KILL_ZYGOTE}{body}"


def test_a_zygote_killed_from_each_part_stops_at_the_submission_budget(tmp_path):
    """linear and sigmoid are correct but slow to load; relu, tanh, mse and softmax_ce kill the zygote
    on every call, so every test of theirs restarts it (before: each restart re-ran the 6 s of slow
    cells, minutes in all). Now the grade ends within the submission's budget; linear and sigmoid keep
    their points, what was left when the budget ran out scores 0 and the problem names it."""
    cells = {c: slow(c) for c in ("linear", "sigmoid")}
    for cell in ("relu", "tanh", "mse", "softmax_ce"):
        cells[cell] = killing(cell, cell)
    results, seconds = timed_grade(make_submission(tmp_path / "killer.ipynb", cells))
    scores = part_scores(results)
    assert {p: scores[p] for p in ("linear", "sigmoid")} == full(("linear", "sigmoid")), results["problems"]
    assert seconds < SUBMISSION_BUDGET + MARGIN, seconds
    assert all(scores[p] < RUBRIC.parts[p].points for p in ("relu", "tanh", "mse", "softmax_ce")), scores
    # the restarts did not re-run the slow statements: they were skipped, and said so
    assert any("セル sigmoid 19 行目の文" in p for p in results["problems"]), results["problems"]
    cut = [p for p in results["problems"] if p.startswith("提出全体の採点時間の上限")]
    # whatever the budget did not reach scores 0 and is named (on a fast machine it reaches everything)
    for name, part in RUBRIC.parts.items():
        if scores[name] == 0 and name not in ("relu", "tanh", "mse", "softmax_ce"):
            assert cut and f"「{part.title}」" in cut[0], (name, results["problems"])


def test_what_is_left_when_the_budget_ends_scores_0_with_the_reason(tmp_path):
    """Slow cells (the cells' share, 6 s), then four parts whose backward hangs (5 s each before the
    part is given up): the submission's 20 s end during the fourth; the parts graded before keep their
    points, the rest score 0 and the problem names them with the budget."""
    cells = {c: slow(c) for c in ("linear", "sigmoid")}
    for cell in ("relu", "tanh", "mse", "softmax_ce"):
        cls = re.match(r"class (\w+)", answer_source(cell)).group(1)
        cells[cell] = answer_source(cell) + f"\n{cls}.backward = lambda self, *a: exec('while True: pass')\n"
    results, seconds = timed_grade(make_submission(tmp_path / "hanging.ipynb", cells))
    scores = part_scores(results)
    assert {p: scores[p] for p in ("linear", "sigmoid")} == full(("linear", "sigmoid")), results["problems"]
    assert seconds < SUBMISSION_BUDGET + MARGIN, seconds
    cut = results["problems"][0]
    assert cut.startswith(f"提出全体の採点時間の上限（{SUBMISSION_BUDGET:g} 秒）を使い切ったため"), results["problems"]
    for name in ("mlp", "exercise_8_1", "exercise_8_2"):  # after the hanging parts: not reached
        assert scores[name] == 0 and f"「{RUBRIC.parts[name].title}」" in cut, (name, cut)
    outputs = [t["output"] for t in results["tests"] if t["part"] == "exercise_8_2"]
    assert outputs and all("提出全体の採点時間の上限" in o for o in outputs), outputs
