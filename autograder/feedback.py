"""What a student reads about one part: its messages, cause first (feedback, gradebook, report).

    part_messages(results, "linear")   # diagnoses, then failures in the rubric's test order, then gating lines
    part_feedback(results, "linear")   # the plain text written under the part's test cell

No nbgrader import here: the terminal report and the batch's workers use it too.
"""

from __future__ import annotations

import re

from .assignment import load_rubric
from .plain_text import MAX_PART_FEEDBACK, bounded
from .results import Results, TestResult

# The graders' wording for a test that is graded only once another passes (backward.py's
# check_first_call, test_mlp.py): such a line repeats the cause, so it comes after it.
GATED = "になってから採点されます"
DIAGNOSIS = "見立て: "  # a diagnosis is the judge's guess at the mistake, said as such
TEST_NAME = re.compile(r"::\s*(\w+)")  # "Linear.backward :: test_gradients[N1_Din3_Dout2]" -> test_gradients


def is_gated(message: str) -> bool:
    return GATED in message


def _rubric_rank(part: str) -> dict[str, int]:
    rubric = load_rubric()
    tests = rubric.parts[part].tests if part in rubric.parts else {}
    return {name: i for i, name in enumerate(tests)}


def _failures(results: Results, part: str) -> list[TestResult]:
    """The part's failed tests in the rubric's order (shapes, values, then the properties);
    a test the rubric does not name keeps its place after them."""
    rank = _rubric_rank(part)
    failed = [t for t in results.part_tests(part) if not t.passed]

    def key(t: TestResult) -> int:
        m = TEST_NAME.search(t.name)
        return rank.get(m.group(1), len(rank)) if m else len(rank)

    return sorted(failed, key=key)  # stable: a parametrized test's cases stay in their order


def part_messages(results: Results, part: str) -> list[str]:
    """Every distinct message of a part, bounded, the cause first: the diagnoses, then the failures
    (the first shape or value failure leads), then the lines of tests waiting for those, once."""
    diagnoses = [DIAGNOSIS + d.message for d in results.part_diagnoses(part)]
    reasons = [t.output for t in _failures(results, part)]
    ordered = diagnoses + [r for r in reasons if not is_gated(r)] + [r for r in reasons if is_gated(r)]
    return list(dict.fromkeys(bounded(m) for m in ordered))


def bullet(message: str) -> str:
    """A list item; a message's further lines indented under it."""
    return "- " + message.replace("\n", "\n  ")


def part_feedback(results: Results, part: str, limit: int = MAX_PART_FEEDBACK) -> str:
    """The judge's Japanese messages for one part, as shown in the autograded/feedback notebook:
    the points, then every message as a list item. Plain text of at most `limit` characters; if
    the messages do not fit, the last line says how many were left out."""
    tests = results.part_tests(part)
    got = sum(t.score for t in tests)
    total = sum(t.max_score for t in tests)
    lines = [f"採点（ジャッジ）: {got:g} / {total:g} 点"]
    messages = part_messages(results, part)
    size = len(lines[0]) + 1
    for i, m in enumerate(messages):
        item = bullet(m)
        if size + len(item) + 1 > limit - 60:  # room for the line saying what was left out
            lines.append(f"…ほか {len(messages) - i} 件（長すぎるため省略しました）")
            break
        lines.append(item)
        size += len(item) + 1
    return "\n".join(lines) + "\n"
