"""Issue 24, one home for each rule: the Japanese a student or an instructor reads lives in its
layer's messages.py (sandbox/messages.py, judge/messages.py, feedback/messages.py, ...; an
assignment's in its own: assignments/<a>/graders/messages.py), not in string literals spread over the code.

A literal counts when it (or, for an f-string, one of its literal parts) holds hiragana, katakana
or a CJK ideograph; docstrings and comments are not literals, templates are not Python. Outside
the rule: an assignment's public/ (autograder/assignments/<a>/public/: code that `python -m
autograder build` concatenates into the release notebook's given cell: it must stay self-contained,
its messages in its own modules).
NOT_YET_MOVED lists the modules still holding such literals, with how many (none since issue 24's
moves): the test fails when a module gains one, and when a listed module has fewer than listed.
"""

from __future__ import annotations

import ast
import re

from autograder.course.assignment import assignments
from tests.test_architecture import PACKAGE, modules

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
HOMES = {"messages.py"}  # a layer's home for its text
SELF_CONTAINED = re.compile(r"assignments/\w+/public/")  # copied into the release notebook as it is (tools/build.py)
NOT_YET_MOVED: dict[str, int] = {}  # all moved (issue 24); a module listed here again must say why


def japanese_literals(source: str) -> list[tuple[int, str]]:
    """(line, text) of each string literal with Japanese in it; an f-string counts once."""
    tree = ast.parse(source)
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skip.add(id(first.value))  # the docstring
        if isinstance(node, ast.JoinedStr):
            skip.update(id(v) for v in node.values)  # counted with their f-string
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        elif isinstance(node, ast.JoinedStr):
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
        else:
            continue
        if JAPANESE.search(text):
            found.append((node.lineno, text))
    return sorted(found)


def literals_outside_homes() -> dict[str, list[tuple[int, str]]]:
    found = {}
    for path in modules().values():
        name = path.relative_to(PACKAGE).as_posix()
        if path.name in HOMES or SELF_CONTAINED.match(name):
            continue
        if literals := japanese_literals(path.read_text(encoding="utf-8")):
            found[name] = literals
    return found


def test_japanese_text_lives_in_the_layers_messages_modules() -> None:
    found = literals_outside_homes()
    more = {
        name: [f"{line}: {text[:60]}" for line, text in lits]
        for name, lits in found.items()
        if len(lits) > NOT_YET_MOVED.get(name, 0)
    }
    assert not more, f"Japanese text outside a messages.py (move it there): {more}"
    fewer = {name: len(found.get(name, ())) for name, n in NOT_YET_MOVED.items() if len(found.get(name, ())) < n}
    assert not fewer, f"fewer literals than NOT_YET_MOVED lists: lower or remove them: {fewer}"


def test_the_count_reads_literals_not_docstrings_or_comments() -> None:
    source = '''"""モジュールの説明。"""
# コメント
def f(x):
    """関数の説明。"""
    return [f"値 {x} が違います", "形状", "shape", f"{x}"]
'''
    assert [text for _, text in japanese_literals(source)] == ["値  が違います", "形状"]


def test_every_layer_with_moved_text_has_its_home() -> None:
    for folder in (
        "course",
        "intake",
        "sandbox",
        "judge",
        "feedback",
        "routes/batch",
        "routes/nbgrader_hooks",
        "routes/gradescope",
        "reports",
        "tools",
    ):
        assert (PACKAGE / folder / "messages.py").is_file(), folder


def test_every_assignments_graders_have_their_home() -> None:
    """An assignment's graders speak to the student in their own messages module."""
    for each in assignments():
        assert (each.graders_dir / "messages.py").is_file(), each.name
        assert each.graders_dir.relative_to(PACKAGE).as_posix() + "/" not in literals_outside_homes()
