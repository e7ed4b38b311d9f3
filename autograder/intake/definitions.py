"""What a top-level statement of the student's code defines: the names it binds, whether it is a
definition (import, function, class, constant), and the part of a student's own cell that runs in
grading (`definitions`). Used to find answers by what they define (matching.py) and to grade the
student's own cells (judge)."""

from __future__ import annotations

import ast
from collections.abc import Iterable


def bound_names(node: ast.stmt) -> set[str]:
    """The names a top-level statement binds in the module's namespace."""
    names: set[str] = set()
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        names.add(node.name)
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        names |= {(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"}
    elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for t in targets:
            names |= {n.id for n in ast.walk(t) if isinstance(n, ast.Name)}
    elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                names |= bound_names(child)
        if isinstance(node, ast.Try):
            for handler in node.handlers:
                for child in handler.body:
                    names |= bound_names(child)
    return names


def _constant(value: ast.expr) -> bool:
    """A literal, or arithmetic on literals (EPS = 1e-8, SHAPE = (4, 3), H = 2 ** -20)."""
    if isinstance(value, ast.Constant):
        return True
    if isinstance(value, (ast.Tuple, ast.List, ast.Set)):
        return all(_constant(e) for e in value.elts)
    if isinstance(value, ast.Dict):
        return all(k is not None and _constant(k) for k in value.keys) and all(_constant(v) for v in value.values)
    if isinstance(value, ast.UnaryOp):
        return _constant(value.operand)
    if isinstance(value, ast.BinOp):
        return _constant(value.left) and _constant(value.right)
    return False


def is_definition(node: ast.stmt) -> bool:
    """What a student's own cell may contribute to grading: imports, functions, classes, constants."""
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, ast.Assign):
        return all(isinstance(t, ast.Name) for t in node.targets) and _constant(node.value)
    if isinstance(node, ast.AnnAssign):
        return isinstance(node.target, ast.Name) and node.value is not None and _constant(node.value)
    return False


def _first_line(node: ast.stmt) -> int:
    decorators: list[ast.expr] = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)])


def _segment(lines: list[str], nodes: Iterable[ast.stmt]) -> str:
    """The source lines of these statements, in order (decorators included)."""
    return "".join("".join(lines[_first_line(n) - 1 : n.end_lineno or n.lineno]) for n in nodes)


def definitions(source: str, given: frozenset[str] = frozenset()) -> str:
    """The part of a student's own code cell that runs in grading: its definitions, in order,
    except those that rebind a name of the given code (imports of it are harmless: left out too).
    A cell that does not parse contributes nothing (it did not run in the student's notebook either)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return ""
    lines = source.splitlines(keepends=True)
    kept = [n for n in tree.body if is_definition(n) and not bound_names(n) & given]
    return _segment(lines, kept)
