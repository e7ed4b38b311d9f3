"""The graders against the catalog of realistic answers (tests/bugs/catalog.py), through the judge.

- Each bug, alone in an otherwise correct submission, loses points on exactly its own part and
  keeps full points on every other part (a bug is charged once).
- The equivalent correct forms keep 100 (several forms per submission, one per answer cell).
- Each bug of a backward part or of the MLP gets the diagnosis the catalog names for it (its code,
  and a scale error's factor name), on its own part only; a correct submission gets none.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bugs.catalog import BUGS, DIAGNOSES, FORMS, forms_by_round
from tests.digits import NUMBER, significant_digits
from tests.judged import grade_notebook, part_scores
from tests.nb74 import NB74
from tests.submissions import make_submission

RUBRIC = NB74.rubric
BACKWARD_PARTS = [p.name for p in RUBRIC.parts.values() if p.kind == "backward"]


def grade(tmp_path: Path, replace: dict[str, str]) -> dict:
    return grade_notebook(make_submission(tmp_path / "submission.ipynb", replace))


def failed_tests(results: dict, part: str) -> list[str]:
    return [f"{t['name']}: {t['output']}" for t in results["tests"] if t["part"] == part and t["status"] != "passed"]


def test_catalog_size():
    assert len(BUGS) >= 30
    for part in BACKWARD_PARTS:
        assert sum(e.part == part for e in FORMS) >= 5, part
    assert {e.part for e in BUGS} == set(RUBRIC.parts), "every part has at least one bug"


@pytest.mark.parametrize("entry", BUGS, ids=[e.name for e in BUGS])
def test_bug_costs_only_its_part(tmp_path, entry):
    results = grade(tmp_path, {entry.cell: entry.source})
    scores = part_scores(results)
    part_max = {p.name: p.points for p in RUBRIC.parts.values()}
    assert scores[entry.part] < part_max[entry.part], f"{entry.name} ({entry.note}) went unnoticed"
    others = {p: s for p, s in scores.items() if p != entry.part and s < part_max[p]}
    assert not others, {p: failed_tests(results, p) for p in others}
    # the feedback names what went wrong, in Japanese, without a grader traceback
    messages = failed_tests(results, entry.part)
    assert messages and all("採点中にエラー" not in m and "Traceback" not in m for m in messages), messages
    diagnoses = results.get("diagnoses", [])
    assert {d["part"] for d in diagnoses} <= {entry.part}, diagnoses
    want = DIAGNOSES.get(entry.name)
    if want is not None:
        code, factor_name = want if isinstance(want, tuple) else (want, None)
        got = [(d["code"], d["factor_name"]) for d in diagnoses]
        assert any(c == code and (factor_name is None or f == factor_name) for c, f in got), (want, diagnoses)
        assert all(d["message"] in " ".join(messages) for d in diagnoses if d["code"] == code), (
            "shown in a test's output"
        )
    for d in diagnoses:  # as the test outputs (tests/test_graders_local.py): no hidden value in 4+ digits
        assert not [n for n in NUMBER.findall(d["message"]) if significant_digits(n) >= 4], d
        assert d["factor_name"] or d["factor"] is None or significant_digits(repr(abs(d["factor"]))) <= 3, d


def test_nine_in_ten_bugs_have_a_diagnosis_and_every_code_two_bugs():
    diagnosable = [e.name for e in BUGS if e.part in BACKWARD_PARTS or e.part == "mlp"]
    assert set(diagnosable) == set(DIAGNOSES)
    named = [w for w in DIAGNOSES.values() if w is not None]
    assert len(named) >= 0.9 * len(diagnosable), f"{len(named)} of {len(diagnosable)}"
    codes = [w[0] if isinstance(w, tuple) else w for w in named]
    assert all(codes.count(c) >= 2 for c in codes), {c: codes.count(c) for c in set(codes) if codes.count(c) < 2}


@pytest.mark.parametrize("group", range(len(forms_by_round())))
def test_equivalent_forms_keep_full_points(tmp_path, group):
    entries = forms_by_round()[group]
    results = grade(tmp_path, {e.cell: e.source for e in entries})
    assert results["score"] == results["max_score"], {
        e.name: failed_tests(results, e.part) for e in entries if failed_tests(results, e.part)
    }
    assert "diagnoses" not in results
