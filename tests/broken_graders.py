"""A kit copy with broken graders, as an instructor's edit could leave it: Linear gets a shape
without its seed (its setup raises), ReLU a test with no points in rubric.toml."""

from __future__ import annotations

from pathlib import Path

NEW_SHAPE = "    shapes = [(1, 3, 2), (5, 4, 7), (8, 6, 1), (4, 3, 3)]  # (N, D_in, D_out)"
UNPRICED = "\n\ndef test_extra_check() -> None:  # no points in rubric.toml\n    assert True\n"


def break_graders(kit: Path) -> None:
    linear = kit / "autograder" / "assignments" / "nb74_matrix_backprop" / "graders" / "test_linear.py"
    text = linear.read_text(encoding="utf-8")
    assert NEW_SHAPE in text, "test_linear.py changed: update this test's way of breaking it"
    text = text.replace(NEW_SHAPE, NEW_SHAPE.replace("(4, 3, 3)]", "(4, 3, 3), (2, 2, 2)]"))
    text = text.replace('ids = [f"N{n}_Din{i}_Dout{o}" for n, i, o in shapes]', 'ids = [f"s{k}" for k in range(5)]')
    linear.write_text(text, encoding="utf-8")
    relu = kit / "autograder" / "assignments" / "nb74_matrix_backprop" / "graders" / "test_relu.py"
    relu.write_text(relu.read_text(encoding="utf-8") + UNPRICED, encoding="utf-8")
