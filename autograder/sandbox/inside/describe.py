"""Student side: the plain-data view of a student value that goes back to the judge.

Only data the channel can carry (numbers, plain numeric arrays, strings, lists, {"$dict": ...},
{"$obj": type name}), bounded in depth and size: nothing of the student's objects crosses over.
Runs inside the sandbox (this folder is all it sees of the kit): the standard library and NumPy only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .protocol import MAX_REPLY_ELEMENTS


class ReplyTooLarge(ValueError):
    """The value is larger than the judge takes (received.error_message names it in Japanese)."""


def describe(value: Any, depth: int = 0, left: list[int] | None = None) -> Any:
    """Plain-data view of any student value: arrays, numbers, strings, containers, objects.

    Raises ReplyTooLarge once the elements described exceed the judge's MAX_REPLY_ELEMENTS in total,
    before copying more: [big] * 1000 is one list of 1000 copies, which the judge would refuse anyway."""
    left = [MAX_REPLY_ELEMENTS] if left is None else left
    if depth > 4:
        return {"$obj": type(value).__name__[:100]}
    if not isinstance(value, (np.ndarray, list, tuple, dict)):  # a leaf: one element, as the judge counts
        left[0] -= 1
        if left[0] < 0:
            raise ReplyTooLarge(MAX_REPLY_ELEMENTS)
    if value is None or isinstance(value, (bool, str)):
        return value if not isinstance(value, str) else value[:1000]
    if isinstance(value, (int, float, complex, np.generic)):
        return np.asarray(value) if not isinstance(value, np.generic) or value.dtype != object else {"$obj": "object"}
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject or value.dtype.kind not in "biufc":
            return {"$obj": f"ndarray[{value.dtype}]"}
        left[0] -= value.size
        if left[0] < 0:
            raise ReplyTooLarge(MAX_REPLY_ELEMENTS)
        return np.array(value)  # plain ndarray, never a subclass
    if isinstance(value, (list, tuple)):
        return [describe(v, depth + 1, left) for v in list(value)[:1000]]
    if isinstance(value, dict):
        return {"$dict": [[str(k)[:100], describe(v, depth + 1, left)] for k, v in list(value.items())[:200]]}
    out: dict[str, Any] = {"$obj": type(value).__name__[:100]}
    for attr in ("layers", "params", "grads"):
        try:
            inner = getattr(value, attr)
        except Exception:
            continue
        if attr == "layers" and not isinstance(inner, (list, tuple)):
            continue
        if attr != "layers" and not isinstance(inner, dict):
            continue
        out[attr] = describe(inner, depth + 1, left)
    return out
