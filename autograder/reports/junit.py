"""The judge's results as JUnit XML, for any CI (`grade --junit FILE`, `batch --junit FILE`).

    write_junit({"s001": results, ...}, Path("junit.xml"))

One `testsuite` per submission (its name: the student id or the notebook), one `testcase` per test
of the results (classname: the rubric part, name: the test), a `failure` with the Japanese message
for a failed test, an `error` with the reason for each part of a submission that could not be
graded; the points are in each testcase's system-out. Written with junitparser (it escapes);
characters XML 1.0 cannot hold at all (most control characters, lone surrogates) are dropped
here with every other unprintable one (autograder.course.plain_text), since a student's exception
message or folder name may carry them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from junitparser import Error, Failure, JUnitXml, TestCase, TestSuite

from ..course.files import atomic_file
from ..course.plain_text import bounded
from ..results import GRADER_ERROR, Results, TestResult
from . import messages as say

GRADING_PROBLEM = "grading_problem"  # the error type of a submission that could not be graded
TEST_FAILED = "test_failed"


def xml_text(text: object, limit: int = 4000) -> str:
    """Text XML 1.0 can carry: bounded (plain_text.UNPRINTABLE holds every character XML 1.0
    forbids, even as a character reference: C0 controls but tab, LF and CR; surrogates; U+FFFE, U+FFFF)."""
    return bounded(text, limit)


def points(t: TestResult) -> str:
    return say.points(t.score, t.max_score)


def testcase(t: TestResult, results: Results) -> TestCase:
    case = TestCase(xml_text(t.name.case or t.name.title, 300), xml_text(t.part, 300), 0.0)
    if results.refused:  # nothing was graded: the reason, as an error (the student's code never ran)
        result: Error | Failure = Error(xml_text(t.output), GRADING_PROBLEM)
    elif t.status == GRADER_ERROR:  # the grader raised: the kit's error, not a failed test
        result = Error(xml_text(t.output), GRADER_ERROR)
    elif not t.passed:
        result = Failure(xml_text(t.output), TEST_FAILED)
    if not t.passed or results.refused:
        result.text = xml_text(t.output)  # the body too: some CI pages show only that
        case.result = [result]
    diagnoses = [d.message for d in results.part_diagnoses(t.part)] if not t.passed else []
    case.system_out = xml_text("\n".join([points(t), *(say.diagnosis(m) for m in diagnoses)]))
    return case


def testsuite(name: str, results: Results) -> TestSuite:
    suite = TestSuite(xml_text(name, 300))
    suite.add_property("score", f"{results.score:g}")
    suite.add_property("max_score", f"{results.max_score:g}")
    suite.add_property("isolation", xml_text(str(results.confinement), 200))
    for i, message in enumerate(results.messages()):  # notes and grading problems, submission-wide
        suite.add_property(
            f"problem_{i + 1}" if message in (results.problems or ()) else f"note_{i + 1}", xml_text(message)
        )
    suite.add_testcases([testcase(t, results) for t in results.tests])
    return suite


def junit_xml(submissions: Mapping[str, Results]) -> JUnitXml:
    xml = JUnitXml("autograder")
    for name, results in submissions.items():
        # append, not add_testsuite: that compares each new suite with every one so far (quadratic)
        xml.append(testsuite(name, results))  # type: ignore[no-untyped-call]
    xml.update_statistics()  # type: ignore[no-untyped-call]  # (junitparser leaves it unannotated)
    return xml


def write_junit(submissions: Mapping[str, Results], path: Path) -> None:
    """The whole file at once, atomically: a CI step never reads half a report."""
    with atomic_file(path) as f:
        junit_xml(submissions).write(f, pretty=True)
