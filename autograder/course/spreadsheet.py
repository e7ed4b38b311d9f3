"""The one way the kit writes a CSV file: no cell a spreadsheet would run as a formula.

Student ids, names, file names and messages reach these files, and Excel, LibreOffice and Google
Sheets run a cell that starts with = + - @ (or a tab or carriage return before one) as a formula
(CSV injection: =HYPERLINK(...) sends data away, =cmd|... ran programs in old Excel). Such a cell
gets a leading ' (OWASP's advice), which the spreadsheet shows as text. Numbers stay numbers: a
negative score is written as -1.5, which is a number, not text a student chose.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
# the same signs in full width: Japanese input methods type them, and Excel may take them as the
# ASCII ones; spaces before a sign are skipped by some spreadsheets' import
SIGNS = ("=", "+", "-", "@", "＝", "＋", "－", "＠")


def starts_formula(text: str) -> bool:
    return text.startswith(FORMULA_START) or text.lstrip().startswith(SIGNS)


def cell(value: object) -> object:
    """The value as a spreadsheet should show it: text starting like a formula gets a leading '."""
    if isinstance(value, str) and starts_formula(value):
        return "'" + value
    return value


def write_csv(
    path: Path | str,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    excel: bool = False,
    append: bool = False,
) -> None:
    """Write (or append, header only for a new file) guarded rows. excel: a byte-order mark, which
    Excel needs to read Japanese text as UTF-8 (leave it off for files that programs read back)."""
    path = Path(path)
    new = not append or not path.exists() or path.stat().st_size == 0
    with path.open("a" if append else "w", newline="", encoding="utf-8-sig" if excel and new else "utf-8") as f:
        w = csv.writer(f)
        if new:
            w.writerow([cell(h) for h in header])
        w.writerows([cell(v) for v in row] for row in rows)
