"""The judge's requests to a part child, each with what it is called in the student's messages.

A request names an object by its handle, or, inside one batch of steps, by the step that made it
({"$step": i}). An argument may be an object of the student's process too: Ref(handle), sent as
{"$ref": handle} (in a batch {"$ref": {"$step": i}}), anywhere in the arguments (lists, dicts);
the part child passes that object itself. Built on the judge's side only (NumPy conversion of
arguments); the wire format itself is protocol.py's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import messages as say

Handle = int | dict[str, int]
Request = tuple[dict[str, Any], str]


@dataclass(frozen=True)
class Ref:
    """An argument naming an object of the student's process (RemoteObject.ref, calls.Remote.ref)."""

    handle: Handle

    def __repr__(self) -> str:
        return f"<object {self.handle}>"


def refs(value: Any) -> Any:
    """A value with each Ref in it (in lists, tuples and dicts too) as the wire's {"$ref": handle}."""
    if isinstance(value, Ref):
        return {"$ref": value.handle}
    if isinstance(value, (list, tuple)):
        return [refs(v) for v in value]
    if isinstance(value, dict):
        return {str(k): refs(v) for k, v in value.items()}
    return value


def argument(a: Any) -> Any:
    """Arrays sent to the student: integer arrays (class labels) stay int64, the rest float64;
    references to the student's objects as refs() sends them."""
    import numpy as np

    if isinstance(a, np.ndarray):
        return np.asarray(a, dtype=np.int64 if a.dtype.kind in "iu" else np.float64)
    return refs(a)


def new(class_name: str, *args: Any) -> Request:
    return {"op": "new", "cls": class_name, "args": refs(list(args))}, f"{class_name}({', '.join(map(repr, args))})"


def func(name: str, *args: Any) -> Request:
    """name(*args): a top-level function of the student's namespace, with the budget of a method call."""
    return {"op": "func", "name": name, "args": [argument(a) for a in args]}, say.function(name)


def call(
    handle: Handle, class_name: str, method: str, *args: Any, fetch: tuple[str, Sequence[str]] | None = None
) -> Request:
    """obj.method(*args); fetch=(attr, keys) also brings back obj.attr[key] right after the call."""
    req: dict[str, Any] = {"op": "call", "h": handle, "method": method, "args": [argument(a) for a in args]}
    if method == "backward":  # dout comes back as the call left it: the judge compares it
        req["echo_args"] = True
    if fetch is not None:
        req["fetch"] = [fetch[0], list(fetch[1])]
    return req, f"{class_name}.{method}"


def get(handle: Handle, class_name: str, attr: str, key: str | None = None) -> Request:
    return {"op": "get", "h": handle, "attr": attr, "key": key}, f"{class_name}.{attr}"


def update(handle: Handle, class_name: str, attr: str, items: dict[str, Any]) -> Request:
    """obj.attr[key] = value for each item."""
    keys = ", ".join(f"[{k!r}]" for k in items)
    return {"op": "set", "h": handle, "attr": attr, "items": items}, say.assignment_to(f"{class_name}.{attr}{keys}")
