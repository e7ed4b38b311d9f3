"""What a student reads about one part: its messages, cause first (feedback, gradebook, report).

    part_messages(results, "linear")   # diagnoses, then failures in the rubric's test order, then gating lines
    part_feedback(results, "linear")   # the plain text written under the part's test cell

No nbgrader import here: the terminal report and the batch's workers use it too.
"""

from __future__ import annotations

from ..course.assignment import Part, Rubric
from ..course.plain_text import MAX_PART_FEEDBACK, bounded
from ..results import Results, TestResult

# The graders' wording for a test that is graded only once another passes (backward.py's
# check_first_call, test_mlp.py): such a line repeats the cause, so it comes after it.
GATED = "になってから採点されます"
DIAGNOSIS = "見立て: "  # a diagnosis is the judge's guess at the mistake, said as such
PICTURE = "図（勾配のヒートマップ）"  # a judge's picture whose alt text was lost


def report_total(score: float, max_score: float, confinement: object) -> str:
    """The terminal report's last line."""
    return f"合計 {score:.2f} / {max_score:g}（隔離: {confinement}）"


GRADER_ERROR_SCORE = "採点エラー"  # a part with no score: the kit's failure (results.GRADER_ERROR)


def more(n: int) -> str:
    """The last line of a list cut short: how many more there were."""
    return f"…ほか {n} 件"


def report_total_unsettled(confinement: object) -> str:
    """The last line when a part could not be graded: no total is given."""
    return f"合計 未確定（採点エラーの部分があります）（隔離: {confinement}）"


def part_label(part: Part) -> str:
    """What every route calls a part: its rubric title, with its section unless the title has it."""
    return part.title if part.section in part.title else f"{part.title}（{part.section} 節）"  # 演習 8.1


def is_gated(message: str) -> bool:
    return GATED in message


def _rubric_rank(part: str, rubric: Rubric) -> dict[str, int]:
    tests = rubric.parts[part].tests if part in rubric.parts else {}
    return {name: i for i, name in enumerate(tests)}


def _test_function(t: TestResult) -> str:
    """ "Linear.backward :: test_gradients[N1_Din3_Dout2]" -> "test_gradients" (its cases share it)."""
    return t.name.test or t.name.title


def _failures(results: Results, part: str, rubric: Rubric) -> list[TestResult]:
    """The part's failed tests in the rubric's order (shapes, values, then the properties);
    a test the rubric does not name keeps its place after them."""
    rank = _rubric_rank(part, rubric)
    failed = [t for t in results.part_tests(part) if not t.passed]

    def key(t: TestResult) -> int:
        return rank.get(t.name.test, len(rank))

    return sorted(failed, key=key)  # stable: a parametrized test's cases stay in their order


def _split(message: str) -> tuple[str, str]:
    """(the check's own sentence, what follows it): the first "。" outside parentheses ends the
    sentence; the rest is the grader's hint or diagnosis (each assignment's graders/messages.py)."""
    depth = 0
    for i, ch in enumerate(message):
        if ch in "（(":
            depth += 1
        elif ch in "）)":
            depth = max(depth - 1, 0)
        elif ch == "。" and depth == 0:
            return message[:i], message[i + 1 :]
    return message, ""


def _unparenthesised(text: str) -> str:
    """The text without its parenthesised parts (nested ones too), e.g. the case of a check:
    "dW = Linear.grads['W']（N=1, D_in=3, D_out=2） の形状が違います" -> "dW = Linear.grads['W'] の形状が違います"."""
    out, depth = [], 0
    for ch in text:
        if ch in "（(":
            depth += 1
        elif ch in "）)":
            depth = max(depth - 1, 0)
        elif depth == 0:
            out.append(ch)
    return " ".join("".join(out).split())


def check_key(message: str) -> str:
    """What a failure is about, the same for every input it was tried on: its first sentence up to
    ":" (the numbers follow), without the parenthesised case."""
    return _unparenthesised(_split(message)[0].split(":")[0])


def _tells_diagnosed(tail: str, quantities: set[str]) -> bool:
    """Whether a failure's tail is the diagnosis of a quantity that has its own 見立て line."""
    return any(tail.startswith((q + " ", q + "が", q + "の")) for q in quantities)


def _summarised(group: list[str], quantities: set[str], all_cases: bool) -> str:
    """One line for the failures of one check on several inputs: the first, with how many."""
    head, tail = _split(group[0])
    line = head if not tail or _tells_diagnosed(tail, quantities) else f"{head}。{tail}"
    if len(group) > 1:
        many = f"試した {len(group)} 通りの入力のすべてで" if all_cases else f"{len(group)} 通りの入力で"
        line += f"（{many}同じです。上はその 1 つ目）"
    return line


def part_messages(results: Results, part: str, rubric: Rubric) -> list[str]:
    """Every distinct message of a part, bounded, the cause first: the diagnoses (one per
    quantity), then the failures (the first shape or value failure leads), then the lines of
    tests waiting for those, once. A check that failed on several inputs (a parametrized test's
    cases) is one line saying on how many; a diagnosis repeated at the end of a failure is shown
    only in its 見立て line."""
    diagnoses = list({d.quantity: d for d in reversed(results.part_diagnoses(part))}.values())[::-1]
    quantities = {d.quantity for d in diagnoses}
    failures = _failures(results, part, rubric)
    groups: dict[str, list[TestResult]] = {}
    for t in failures:
        if not is_gated(t.output):
            groups.setdefault(check_key(t.output), []).append(t)
    lines = [DIAGNOSIS + d.message for d in diagnoses]
    for members in groups.values():
        # "all": every case of the tests these failures come from failed this way
        tests = {_test_function(t) for t in members}
        cases = [t for t in results.part_tests(part) if _test_function(t) in tests]
        all_cases = len(members) > 1 and len(cases) == len(members)
        lines.append(_summarised([t.output for t in members], quantities, all_cases))
    lines += [t.output for t in failures if is_gated(t.output)]
    return list(dict.fromkeys(bounded(m) for m in lines))


def bullet(message: str) -> str:
    """A list item; a message's further lines indented under it."""
    return "- " + message.replace("\n", "\n  ")


def part_feedback(results: Results, part: str, rubric: Rubric, limit: int = MAX_PART_FEEDBACK) -> str:
    """The judge's Japanese messages for one part, as shown in the autograded/feedback notebook:
    the points, then every message as a list item. Plain text of at most `limit` characters; if
    the messages do not fit, the last line says how many were left out."""
    tests = results.part_tests(part)
    got = sum(t.score for t in tests)
    total = sum(t.max_score for t in tests)
    lines = [f"採点（ジャッジ）: {got:g} / {total:g} 点"]
    messages = part_messages(results, part, rubric)
    size = len(lines[0]) + 1
    for i, m in enumerate(messages):
        item = bullet(m)
        if size + len(item) + 1 > limit - 60:  # room for the line saying what was left out
            lines.append(f"…ほか {len(messages) - i} 件（長すぎるため省略しました）")
            break
        lines.append(item)
        size += len(item) + 1
    return "\n".join(lines) + "\n"
