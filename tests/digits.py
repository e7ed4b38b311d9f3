"""Counting the digits of numbers shown in feedback (tests/test_graders_local.py, tests/test_graders_catalog.py)."""

from __future__ import annotations

import re

NUMBER = re.compile(r"\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def significant_digits(number: str) -> int:
    mantissa = number.split("e")[0]
    digits = mantissa.replace(".", "").lstrip("0")
    return len(digits if "." in mantissa else digits.rstrip("0"))
