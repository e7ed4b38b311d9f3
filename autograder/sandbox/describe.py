"""Student side: the plain-data view of a student value that goes back to the judge.

Only data the channel can carry (numbers, plain numeric arrays, strings, lists, {"$dict": ...},
{"$obj": type name}), bounded in depth and size: nothing of the student's objects crosses over.
Runs inside the sandbox (protocol.SANDBOX_FILES): the standard library and NumPy only.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def describe(value: Any, depth: int = 0) -> Any:
    """Plain-data view of any student value: arrays, numbers, strings, containers, objects."""
    if depth > 4:
        return {"$obj": type(value).__name__[:100]}
    if value is None or isinstance(value, (bool, str)):
        return value if not isinstance(value, str) else value[:1000]
    if isinstance(value, (int, float, complex, np.generic)):
        return np.asarray(value) if not isinstance(value, np.generic) or value.dtype != object else {"$obj": "object"}
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject or value.dtype.kind not in "biufc":
            return {"$obj": f"ndarray[{value.dtype}]"}
        return np.array(value)  # plain ndarray, never a subclass
    if isinstance(value, (list, tuple)):
        return [describe(v, depth + 1) for v in list(value)[:1000]]
    if isinstance(value, dict):
        return {"$dict": [[str(k)[:100], describe(v, depth + 1)] for k, v in list(value.items())[:200]]}
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
        out[attr] = describe(inner, depth + 1)
    return out
