"""Student side: one graded part's server, answering the judge's requests on its own socket.

Each request names its kind in "op"; HANDLERS maps each kind to the method answering it, so a
new kind of request is one method and one entry. An assignment may add kinds, or replace these, for
its own parts: its handler module's HANDLERS (assignment.py), merged over these in each part child.
A request is plain data from the judge, a reply plain data built by describe(): the student's
objects never leave this process. An argument {"$ref": h} (in "new", "call", "func") is the object
of handle h, made earlier in this child: it never crosses either, only its handle does.
Runs inside the sandbox (the engine's student side and the assignment's inside/ and public/ are all
it sees of the kit): the standard library and NumPy only.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, ClassVar

import numpy as np

from . import protocol
from .cells import error_info, run_cell
from .describe import describe

Request = dict[str, Any]
Reply = dict[str, Any]


class ProtocolError(Exception):
    """A request the judge got wrong (an unknown handle): reported with this type name, as an unknown op."""


class ForwardWatch:
    """Counts calls to any `forward` of the student's classes while a request runs."""

    def __init__(self, ns: dict[str, Any]):
        self.classes = [v for v in list(ns.values()) if isinstance(v, type) and callable(getattr(v, "forward", None))]
        self.calls = 0
        self.saved: list[tuple[type, Any]] = []

    def __enter__(self) -> ForwardWatch:
        for cls in self.classes:
            if "forward" in cls.__dict__:
                original = cls.__dict__["forward"]
                self.saved.append((cls, original))

                def counting(*args: Any, __original: Any = original, **kwargs: Any) -> Any:
                    self.calls += 1
                    return __original(*args, **kwargs)

                setattr(cls, "forward", counting)  # noqa: B010 (a student class: mypy knows no `forward`)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for cls, original in self.saved:
            setattr(cls, "forward", original)  # noqa: B010


class PartServer:
    """Serves one graded part's requests on its own socket (in a forked child)."""

    HANDLERS: ClassVar[dict[str, Callable[[PartServer, Request], Reply]]]

    def __init__(
        self,
        sock: socket.socket,
        ns: dict[str, Any],
        cells: dict[str, str],
        spin: float = 0.0,
        handlers: Mapping[str, Callable[[PartServer, Request], Reply]] | None = None,
    ):
        """handlers: an assignment's request kinds (assignment.load), replacing or added to HANDLERS."""
        self.sock, self.ns, self.cells, self.spin = sock, ns, cells, spin
        self.handlers = {**self.HANDLERS, **(handlers or {})}
        self.objects: dict[int, object] = {}
        self.recorded: list[dict[str, Any]] = []

    def serve(self) -> None:
        while True:
            try:
                req = protocol.recv(self.sock, spin=self.spin)
            except protocol.ChannelClosed:
                return
            if req.get("op") == "exit":
                return
            self.dispatch(req)

    def dispatch(self, req: Request) -> None:
        if req.get("op") == "steps":
            self.steps(req.get("steps", []))
        else:
            self.answer(req)

    def send(self, reply: Reply) -> None:
        protocol.send(self.sock, reply)

    def answer(self, req: Request) -> Reply:
        """Handle one request and send its reply (also returned)."""
        try:
            reply = self.handler(req.get("op"))(self, req)
        except BaseException as exc:  # the student's code raised (SystemExit too)
            reply = {"error": error_info(exc)}
        try:
            self.send(reply)
        except (TypeError, ValueError) as exc:
            reply = {"error": {"type": "UnsendableValue", "message": str(exc)[:300], "where": None}}
            self.send(reply)
        return reply

    def steps(self, steps: list[Request]) -> None:
        """Several requests from one message, each answered as soon as it is done, until the first
        that fails. A step's "h" may be {"$step": i}: the object made by step i of the same message;
        so may an argument's reference, {"$ref": {"$step": i}}."""
        made: list[Reply] = []
        for step in steps:
            h = step.get("h")
            if isinstance(h, dict) and "$step" in h:
                step = {**step, "h": made[int(h["$step"])].get("h")}
            args = step.get("args")
            if isinstance(args, list) and _made_by_steps(args, made) is not args:
                step = {**step, "args": _made_by_steps(args, made)}
            reply = self.answer(step)
            made.append(reply)
            if "error" in reply or reply.get("missing"):
                return

    def handler(self, op: Any) -> Callable[[PartServer, Request], Reply]:
        """The function answering `op`. Compared in order, not looked up: an op that is no string (a
        list, an array) gets the reply, or the error, it always got."""
        for name, handler in self.handlers.items():
            if op == name:
                return handler
        return PartServer.unknown

    def unknown(self, req: Request) -> Reply:
        return {"error": {"type": "ProtocolError", "message": f"unknown op {req.get('op')!r}", "where": None}}

    # -- what an assignment's handlers use of the engine (they are given the server) --------------
    def keep(self, obj: object) -> Reply:
        """Keep an object made here; the reply names its handle."""
        self.objects[len(self.objects)] = obj
        return {"h": len(self.objects) - 1}

    def resolve(self, value: Any) -> Any:
        """A request's value with each {"$ref": h} in it (in lists and dicts too) replaced by the
        object of handle h; the very same value when it holds no reference."""
        if isinstance(value, dict):
            if list(value) == ["$ref"]:
                h = value["$ref"]
                if isinstance(h, bool) or not isinstance(h, int) or h not in self.objects:
                    raise ProtocolError(f"no object {str(h)[:40]}")
                return self.objects[h]
            items = {k: self.resolve(v) for k, v in value.items()}
            return value if all(items[k] is v for k, v in value.items()) else items
        if isinstance(value, list):
            resolved = [self.resolve(v) for v in value]
            return value if all(a is b for a, b in zip(resolved, value)) else resolved
        return value

    def describe(self, value: Any) -> Any:
        """describe.describe: the plain-data view of a value, bounded as the judge takes it."""
        return describe(value)

    def error_info(self, exc: BaseException) -> dict[str, Any]:
        """cells.error_info: what the judge is told of an exception (the student's line in it)."""
        return error_info(exc)

    def run_stored_cell(self, cell: str) -> None:
        """Run a cell the judge sent for later (e.g. an exercise), in the student's namespace."""
        run_cell(cell, self.cells[cell], self.ns)

    # -- the engine's request kinds ----------------------------------------------------------------
    def obj(self, req: Request) -> Any:
        return self.objects[int(req["h"])]

    def new(self, req: Request) -> Reply:
        cls = self.ns.get(req["cls"])
        if not isinstance(cls, type):
            return {"missing": True}
        return self.keep(cls(*self.resolve(req.get("args", []))))

    def invoke(self, fn: Callable[..., Any], req: Request, count_forwards: bool = True) -> Reply:
        """fn(*args) with the request's args (arrays copied, references resolved): its described
        result, which array arguments it changed, how many forwards of the student's classes it
        made, and with "echo_args" the array arguments as it left them."""
        args = [np.array(a) if isinstance(a, np.ndarray) else self.resolve(a) for a in req.get("args", [])]
        sent = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        with ForwardWatch(self.ns) as watch:
            result = fn(*args)
        changed = [
            not (isinstance(a, np.ndarray) and a.shape == s.shape and np.array_equal(a, s, equal_nan=True))
            for a, s in zip(args, sent)
            if isinstance(s, np.ndarray)
        ]
        reply = {
            "result": describe(result),
            "args_changed": changed,
            "forward_calls": watch.calls if count_forwards else 0,
        }
        if req.get("echo_args"):  # the judge compares them with what it sent
            reply["args_after"] = [describe(a) for a in args if isinstance(a, np.ndarray)]
        return reply

    def call(self, req: Request) -> Reply:
        obj = self.obj(req)
        reply = self.invoke(getattr(obj, req["method"]), req, count_forwards=req["method"] != "forward")
        if req.get("fetch"):  # e.g. ["grads", ["W", "b"]]: read right after the call
            attr, keys = req["fetch"]
            container = getattr(obj, attr, None)
            reply["fetched"] = (
                {k: describe(container[k]) for k in keys if k in container} if isinstance(container, dict) else {}
            )
        return reply

    def func(self, req: Request) -> Reply:
        """A top-level function of the student's namespace, called by name as a method is."""
        fn = self.ns.get(req["name"])
        if not callable(fn) or isinstance(fn, type):
            return {"missing": True}
        return self.invoke(fn, req)

    def get(self, req: Request) -> Reply:
        container = getattr(self.obj(req), req["attr"], None)
        if req.get("key") is None:
            return {"value": describe(container)}
        if not isinstance(container, dict) or req["key"] not in container:
            return {"missing": True}
        return {"value": describe(container[req["key"]])}

    def set(self, req: Request) -> Reply:
        container = getattr(self.obj(req), req["attr"])
        for key, value in req["items"].items():
            container[key] = np.array(value) if isinstance(value, np.ndarray) else value
        return {}

    def var(self, req: Request) -> Reply:
        if req["name"] not in self.ns:
            return {"missing": True}
        return {"value": describe(self.ns[req["name"]])}

    def exec_recording(self, req: Request) -> Reply:
        """Run an exercise cell with `record` replaced by a recorder of its arguments, so that
        grading the exercise never runs the student's backward passes."""
        target = req["record"]
        original = self.ns.get(target)

        def recorder(*args: Any, **kwargs: Any) -> bool:
            self.recorded.append(
                {"args": [describe(a) for a in args], "kwargs": {k: describe(v) for k, v in kwargs.items()}}
            )
            return True

        self.ns[target] = recorder
        error: dict[str, Any] | None
        try:
            run_cell(req["cell"], self.cells[req["cell"]], self.ns)
            error = None
        except BaseException as exc:
            error = error_info(exc)
        finally:
            if self.ns.get(target) is recorder:
                self.ns[target] = original
        return {"error_in_cell": error, "calls": self.recorded}


def _made_by_steps(value: Any, made: list[Reply]) -> Any:
    """Arguments with each {"$ref": {"$step": i}} made {"$ref": h}, h the handle step i made (the
    very same value when there is none)."""
    if isinstance(value, dict):
        ref = value.get("$ref") if list(value) == ["$ref"] else None
        if isinstance(ref, dict) and list(ref) == ["$step"]:
            return {"$ref": made[int(ref["$step"])].get("h")}
        items = {k: _made_by_steps(v, made) for k, v in value.items()}
        return value if all(items[k] is v for k, v in value.items()) else items
    if isinstance(value, list):
        done = [_made_by_steps(v, made) for v in value]
        return value if all(a is b for a, b in zip(done, value)) else done
    return value


PartServer.HANDLERS = {
    "new": PartServer.new,
    "call": PartServer.call,
    "func": PartServer.func,
    "get": PartServer.get,
    "set": PartServer.set,
    "var": PartServer.var,
    "exec_recording": PartServer.exec_recording,
}
