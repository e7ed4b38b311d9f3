"""Gradescope's folders, all under $AUTOGRADER_ROOT (default /autograder), so a test can run the
whole route in a temporary folder."""

from __future__ import annotations

import os
from pathlib import Path


def root() -> Path:
    return Path(os.environ.get("AUTOGRADER_ROOT") or "/autograder")


def source() -> Path:
    """Where Gradescope unpacks the zip: the kit's own layout (autograder/, source/, solutions/)."""
    return root() / "source"


def assignment_name() -> str | None:
    """The assignment the zip grades, as the zip records it (package.ASSIGNMENT_FILE); None
    without that file (the route run from a kit checkout: then the kit's only assignment)."""
    try:
        return (source() / "assignment").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None


def submission() -> Path:
    return root() / "submission"


def results_file() -> Path:
    return root() / "results" / "results.json"
