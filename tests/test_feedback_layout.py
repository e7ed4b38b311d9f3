"""What a student reads in the feedback (issue 11, item 4): each part named, cause first, every
message, readable tables, wrapped lines, no bare score output; with the grades nbgrader keeps.

The text of a part (autograder.feedback.messages) is checked on made-up results; the page on a real course:
`nbgrader autograde` and `nbgrader generate_feedback` with the repository's config, the HTML
parsed with BeautifulSoup, the grades read back through nbgrader's Gradebook.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from autograder.feedback.messages import DIAGNOSIS, is_gated, part_feedback, part_messages
from autograder.results import FAILED, PASSED, Confinement, Diagnosis, Results, TestName, TestResult
from tests.course import NB, A, add_students, make_course, nbgrader, place
from tests.nb74 import NB74
from tests.submissions import RELEASE, SOLUTION, answer_source, make_submission

RUBRIC = NB74.rubric
GATE = "この項目は backward が正しい勾配を返すようになってから採点されます（dW の形状が違います）"


def result(name: str, output: str, part: str = "linear", passed: bool = False) -> TestResult:
    return TestResult(
        TestName("Linear.backward", name), part, 1.0 if passed else 0.0, 1.0, PASSED if passed else FAILED, output
    )


def linear_results(diagnoses: tuple[Diagnosis, ...] = ()) -> Results:
    """Tests in the judge's (alphabetical) order: the gating lines come first there."""
    tests = (
        result("test_analytic", GATE),
        result("test_dout_untouched", GATE),
        result("test_gradient_shapes", "dW の形状が違います: 期待 (3, 2), 実際 (2, 3)"),
        *(result(f"test_gradients[case{i}]", f"dW の値が違います（ケース {i}）") for i in range(5)),
        result("test_latest_cache", "2 回目の forward の後の dW が違います"),
        result("test_repeat_backward", GATE),
    )
    return Results(0.0, float(len(tests)), tests, Confinement("test"), diagnoses=diagnoses)


# -- the text of a part -----------------------------------------------------------------------------


def test_the_cause_leads_and_the_gating_line_comes_after_once():
    messages = part_messages(linear_results(), "linear", NB74.rubric)
    assert messages[0].startswith("dW の形状が違います")  # the shape failure (the rubric's first test)
    assert messages[1].startswith("dW の値が違います（ケース 0）")
    assert [m for m in messages if is_gated(m)] == [GATE]
    assert messages[-1] == GATE


def test_a_diagnosis_comes_first():
    d = Diagnosis("linear", "dW", "transposed", "dW が正しい値の転置になっています。（正しくは dW = x.T @ dout）")
    other = Diagnosis("mse", "dL/dy", "scale", "ほかの項目の見立て")
    messages = part_messages(linear_results((d, other)), "linear", NB74.rubric)
    assert messages[0] == DIAGNOSIS + d.message
    assert not any("ほかの項目" in m for m in messages)
    text = part_feedback(linear_results((d,)), "linear", NB74.rubric)
    assert text.split("\n")[1] == "- " + DIAGNOSIS + d.message


def test_every_message_of_a_part_is_shown():
    text = part_feedback(linear_results(), "linear", NB74.rubric)
    items = [ln[2:] for ln in text.split("\n") if ln.startswith("- ")]
    assert items == part_messages(linear_results(), "linear", NB74.rubric) and len(items) == 4  # 5 cases: one line
    assert "ほか" not in text
    assert text.startswith("採点（ジャッジ）: 0 / 10 点\n")


def test_messages_past_the_limit_are_counted():
    text = part_feedback(linear_results(), "linear", NB74.rubric, limit=200)
    assert len(text) <= 200
    assert re.search(r"…ほか (\d+) 件", text)
    shown = len([ln for ln in text.split("\n") if ln.startswith("- ")])
    assert (
        int(re.search(r"…ほか (\d+) 件", text).group(1))
        == len(part_messages(linear_results(), "linear", NB74.rubric)) - shown
    )


def test_the_cases_of_one_check_are_one_line():
    messages = part_messages(linear_results(), "linear", NB74.rubric)
    cases = [m for m in messages if m.startswith("dW の値が違います")]
    assert cases == ["dW の値が違います（ケース 0）（試した 5 通りの入力のすべてで同じです。上はその 1 つ目）"]
    some = Results(
        0.0,
        2.0,
        (result("test_gradients[a]", "dx の値が違います（a）"), result("test_gradients[b]", "", passed=True)),
        Confinement("t"),
    )
    assert part_messages(some, "linear", NB74.rubric) == ["dx の値が違います（a）"]  # one case: said as it is


def test_a_diagnosis_is_told_once_per_quantity():
    """The graders end a failure with its diagnosis; the 見立て line says it once for the part."""
    d = Diagnosis(
        "linear", "dW", "transposed", "dW の形状が (2, 3) で、正しくは (3, 2) です。（正しくは dW = x.T @ dout）"
    )
    tests = (
        result("test_gradients[a]", "dW（N=1） の形状が違います: 期待 (3, 2), 実際 (2, 3)。" + d.message),
        result("test_gradients[b]", "dW（N=5） の形状が違います: 期待 (4, 7), 実際 (7, 4)。dW の形状が (7, 4) で…"),
        result("test_gradients[c]", "dW（N=4） の値が違います: 誤差 1.4。dW が正しい値の転置になっています。"),
        result("test_analytic", "db（N=4） の値が違います: 誤差 2.0。全体が約 4 倍ずれています"),
    )
    messages = part_messages(Results(0.0, 4.0, tests, Confinement("t"), diagnoses=(d, d)), "linear", NB74.rubric)
    assert messages == [
        DIAGNOSIS + d.message,
        "dW（N=1） の形状が違います: 期待 (3, 2), 実際 (2, 3)（2 通りの入力で同じです。上はその 1 つ目）",
        "dW（N=4） の値が違います: 誤差 1.4",
        "db（N=4） の値が違います: 誤差 2.0。全体が約 4 倍ずれています",  # not the diagnosed quantity: kept
    ]
    assert sum("正しくは" in m for m in messages) == 1


def test_a_message_of_several_lines_stays_one_item():
    r = Results(0.0, 1.0, (result("test_gradient_shapes", "一行目\n二行目"),), Confinement("test"))
    assert part_feedback(r, "linear", NB74.rubric).split("\n")[1:3] == ["- 一行目", "  二行目"]


# -- the page, through real nbgrader ----------------------------------------------------------------

DW_T = answer_source("linear").replace("x.T @ dout", "dout.T @ x")  # a transposed dW
STUDENTS = {"dw-t": (SOLUTION, {"linear": DW_T}), "untouched": (RELEASE, {})}


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    course = make_course(tmp_path_factory.mktemp("feedback") / "course")
    add_students(course, list(STUDENTS))
    for student, (base, answers) in STUDENTS.items():
        place(course, student, make_submission(course / "in" / f"{student}.ipynb", answers, base))
    nbgrader(course, "autograde", A)
    nbgrader(course, "generate_feedback", A)
    return course


def page(course: Path, student: str) -> BeautifulSoup:
    html = (course / "feedback" / student / A / NB.replace(".ipynb", ".html")).read_text(encoding="utf-8")
    return BeautifulSoup(html, "html.parser")


def judge_results(course: Path, student: str) -> Results:
    from tests.judged import grade_notebook

    return Results.from_dict(grade_notebook(course / "submitted" / student / A / NB))


def graded_cell(soup: BeautifulSoup, grade_id: str):
    """The cell of a test cell's anchor (its heading, source and outputs)."""
    return soup.find("a", attrs={"name": grade_id}).find_parent("div", class_="cell")


def head_css(soup: BeautifulSoup) -> str:
    return " ".join(" ".join(s.get_text().split()) for s in soup.head.find_all("style"))


@pytest.mark.slow
def test_every_part_is_named_by_its_title(course):
    soup = page(course, "dw-t")
    toc = [" ".join(li.get_text().split()) for li in soup.select("#toc li")]
    for part in RUBRIC.parts.values():
        assert any(part.title in item for item in toc), (part.title, toc)
        heading = graded_cell(soup, part.test_cell).select_one("div.panel-heading").get_text()
        assert part.title in heading, heading
    text = soup.get_text()
    assert "Test cell" not in text and "Grade cell" not in text


@pytest.mark.slow
def test_tables_get_borders_and_spacing(course):
    soup = page(course, "dw-t")
    css = head_css(soup)
    rule = re.search(r"\.rendered_html td \{([^}]*)\}", css) or re.search(
        r"\.rendered_html th, \.rendered_html td \{([^}]*)\}", css
    )
    assert rule and "padding" in rule.group(1) and "border" in rule.group(1), css[-800:]
    titles = [td.get_text() for td in soup.select(".rendered_html table td")]
    assert "Linear.backward" in titles  # the rubric table is such a table, one cell per value


@pytest.mark.slow
def test_long_judge_lines_wrap(course):
    soup = page(course, "dw-t")
    rule = re.search(r"div\.output_area pre[^{]*\{([^}]*)\}", head_css(soup))
    assert rule and "white-space: pre-wrap" in rule.group(1)
    pre = graded_cell(soup, "test_linear").select("div.output_area pre")
    assert pre and max(len(ln) for ln in pre[0].get_text().split("\n")) > 100  # lines that need it


@pytest.mark.slow
@pytest.mark.parametrize("student", list(STUDENTS))
def test_each_part_shows_its_cause_first_and_every_message(course, student):
    soup, results = page(course, student), judge_results(course, student)
    for part in RUBRIC.parts.values():
        text = graded_cell(soup, part.test_cell).select_one("div.output_area pre").get_text()
        items = [ln[2:] for ln in text.split("\n") if ln.startswith("- ")]
        assert items == part_messages(results, part.name, NB74.rubric), part.name
        assert "ほか" not in text
        causes = [m for m in items if not is_gated(m)]  # a part waiting only for others has none
        assert items[: len(causes)] == causes, part.name


@pytest.mark.slow
@pytest.mark.parametrize("student", list(STUDENTS))
def test_no_bare_score_output_and_the_grades_stay_the_judges(course, student):
    from nbgrader.api import Gradebook

    soup, scores = page(course, student), judge_results(course, student).part_scores()
    assert not soup.select("div.output_execute_result") and "Out[" not in soup.get_text()
    autograded = json.loads((course / "autograded" / student / A / NB).read_text(encoding="utf-8"))
    by_id = {c["metadata"].get("nbgrader", {}).get("grade_id"): c for c in autograded["cells"]}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for part in RUBRIC.parts.values():
            grade = gb.find_grade(part.test_cell, RUBRIC.notebook, A, student)
            assert grade.score == pytest.approx(scores.get(part.name, 0.0)), part.name
            # what nbgrader's determine_grade read: the score as a plain float, still there
            results = [o for o in by_id[part.test_cell]["outputs"] if o["output_type"] == "execute_result"]
            assert [float("".join(o["data"]["text/plain"])) for o in results] == [pytest.approx(grade.score)]
            heading = " ".join(graded_cell(soup, part.test_cell).select_one("div.panel-heading").get_text().split())
            assert f"得点: {grade.score:g} / {part.points:g}" in heading, heading
