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


def submission() -> Path:
    return root() / "submission"


def results_file() -> Path:
    return root() / "results" / "results.json"
