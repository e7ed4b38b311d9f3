"""Student side: one graded part's server, answering the judge's requests on its own socket.

Each request names its kind in "op"; HANDLERS maps each kind to the method answering it, so a
new kind of request is one method and one entry. A request is plain data from the judge, a reply
plain data built by describe(): the student's objects never leave this process.
Runs inside the sandbox (this folder is all it sees of the kit): the standard library and NumPy only.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from types import TracebackType
from typing import Any, ClassVar

import numpy as np

from . import protocol
from .cells import error_info, run_cell
from .describe import describe

Request = dict[str, Any]
Reply = dict[str, Any]


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

    def __init__(self, sock: socket.socket, ns: dict[str, Any], cells: dict[str, str], spin: float = 0.0):
        self.sock, self.ns, self.cells, self.spin = sock, ns, cells, spin
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
        that fails. A step's "h" may be {"$step": i}: the object made by step i of the same message."""
        made: list[Reply] = []
        for step in steps:
            h = step.get("h")
            if isinstance(h, dict) and "$step" in h:
                step = {**step, "h": made[int(h["$step"])].get("h")}
            reply = self.answer(step)
            made.append(reply)
            if "error" in reply or reply.get("missing"):
                return

    @classmethod
    def handler(cls, op: Any) -> Callable[[PartServer, Request], Reply]:
        """The method answering `op`. Compared in order, not looked up: an op that is no string (a
        list, an array) gets the reply, or the error, it always got."""
        for name, handler in cls.HANDLERS.items():
            if op == name:
                return handler
        return cls.unknown

    def unknown(self, req: Request) -> Reply:
        return {"error": {"type": "ProtocolError", "message": f"unknown op {req.get('op')!r}", "where": None}}

    def obj(self, req: Request) -> Any:
        return self.objects[int(req["h"])]

    def new(self, req: Request) -> Reply:
        cls = self.ns.get(req["cls"])
        if not isinstance(cls, type):
            return {"missing": True}
        obj = cls(*req.get("args", []))
        self.objects[len(self.objects)] = obj
        return {"h": len(self.objects) - 1}

    def call(self, req: Request) -> Reply:
        obj = self.obj(req)
        args = [np.array(a) if isinstance(a, np.ndarray) else a for a in req.get("args", [])]
        sent = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        method = getattr(obj, req["method"])
        with ForwardWatch(self.ns) as watch:
            result = method(*args)
        changed = [
            not (isinstance(a, np.ndarray) and a.shape == s.shape and np.array_equal(a, s, equal_nan=True))
            for a, s in zip(args, sent)
            if isinstance(s, np.ndarray)
        ]
        reply = {
            "result": describe(result),
            "args_changed": changed,
            "forward_calls": watch.calls if req["method"] != "forward" else 0,
        }
        if req.get("echo_args"):  # the judge compares them with what it sent
            reply["args_after"] = [describe(a) for a in args if isinstance(a, np.ndarray)]
        if req.get("fetch"):  # e.g. ["grads", ["W", "b"]]: read right after the call
            attr, keys = req["fetch"]
            container = getattr(obj, attr, None)
            reply["fetched"] = (
                {k: describe(container[k]) for k in keys if k in container} if isinstance(container, dict) else {}
            )
        return reply

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


PartServer.HANDLERS = {
    "new": PartServer.new,
    "call": PartServer.call,
    "get": PartServer.get,
    "set": PartServer.set,
    "var": PartServer.var,
    "exec_recording": PartServer.exec_recording,
}
