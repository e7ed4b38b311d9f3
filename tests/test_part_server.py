"""The part server's requests, served in this process: each op answered by its HANDLERS entry, and
unknown or malformed requests answered (or refused) exactly as the if-chain it replaced did."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from autograder.sandbox.inside import protocol
from autograder.sandbox.inside.part_server import PartServer

CELL = """
import numpy as np
class Lin:
    def __init__(self, n=2):
        self.params = {"W": np.ones((n, n))}
        self.grads = {}
    def forward(self, x):
        return x @ self.params["W"]
    def backward(self, dout):
        self.forward(dout)
        self.grads["W"] = dout.copy()
        dout[0] = 7
        return dout
"""


class Served(PartServer):
    """Replies kept as the channel would deliver them."""

    def __init__(self, cells: dict[str, str] | None = None) -> None:
        ns: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
        exec(CELL, ns)
        super().__init__(None, ns, cells or {})  # type: ignore[arg-type]  # never sends on a socket
        self.replies: list[dict[str, Any]] = []

    def send(self, reply: dict[str, Any]) -> None:
        self.replies.append(protocol.decode(protocol.encode(reply)[4:]))

    def reply(self, req: dict[str, Any]) -> dict[str, Any]:
        self.dispatch(req)
        return self.replies[-1]


def test_every_op_has_its_handler():
    assert list(PartServer.HANDLERS) == ["new", "call", "func", "get", "set", "var", "exec_recording"]


def test_a_call_reports_what_the_student_did_to_its_arguments():
    s = Served()
    assert s.reply({"op": "new", "cls": "Lin", "args": [2]}) == {"h": 0}
    r = s.reply(
        {
            "op": "call",
            "h": 0,
            "method": "backward",
            "args": [np.ones((1, 2))],
            "echo_args": True,
            "fetch": ["grads", ["W", "b"]],
        }
    )
    assert r["args_changed"] == [True] and r["forward_calls"] == 1
    assert r["args_after"][0].tolist() == [[7.0, 7.0]] and list(r["fetched"]) == ["W"]
    assert s.reply({"op": "get", "h": 0, "attr": "params", "key": "Z"}) == {"missing": True}
    assert s.reply({"op": "set", "h": 0, "attr": "params", "items": {"W": np.zeros((2, 2))}}) == {}
    assert s.reply({"op": "get", "h": 0, "attr": "params", "key": "W"})["value"].tolist() == [[0, 0], [0, 0]]
    assert s.reply({"op": "var", "name": "nothing"}) == {"missing": True}


@pytest.mark.parametrize(
    ("req", "error"),
    [
        ({"op": "bogus"}, {"type": "ProtocolError", "message": "unknown op 'bogus'", "where": None}),
        ({}, {"type": "ProtocolError", "message": "unknown op None", "where": None}),
        ({"op": 3}, {"type": "ProtocolError", "message": "unknown op 3", "where": None}),
        ({"op": [1]}, {"type": "ProtocolError", "message": "unknown op [1]", "where": None}),
        ({"op": {"a": 1}}, {"type": "ProtocolError", "message": "unknown op {'a': 1}", "where": None}),
        ({"op": np.array(5)}, {"type": "ProtocolError", "message": "unknown op array(5)", "where": None}),
        ({"op": "new"}, {"type": "KeyError", "message": "'cls'", "where": None}),
        ({"op": "new", "cls": ["x"]}, {"type": "TypeError", "message": "unhashable type: 'list'", "where": None}),
        ({"op": "call", "h": 5, "method": "forward"}, {"type": "KeyError", "message": "5", "where": None}),
    ],
)
def test_unknown_and_malformed_requests_get_an_error_reply(req, error):
    assert Served().reply(req) == {"error": error}


def test_an_op_that_has_no_truth_value_is_refused_as_before():
    with pytest.raises(ValueError):
        Served().dispatch({"op": np.array([1, 2])})


def test_steps_stop_at_the_first_that_fails_and_refer_to_earlier_steps():
    s = Served()
    step = {"op": "call", "h": {"$step": 0}, "method": "forward", "args": [np.ones((1, 2))]}
    s.dispatch({"op": "steps", "steps": [{"op": "new", "cls": "Lin"}, step, {"op": "var", "name": "x"}, step]})
    assert [sorted(r) for r in s.replies] == [["h"], ["args_changed", "forward_calls", "result"], ["missing"]]


def test_exec_recording_records_and_reports_the_cells_error():
    s = Served({"ex": "record(1, x=2)\nraise ValueError('boom')\n"})
    r = s.reply({"op": "exec_recording", "cell": "ex", "record": "record"})
    assert r["calls"] == [{"args": [1], "kwargs": {"x": 2}}]
    assert r["error_in_cell"]["type"] == "ValueError" and r["error_in_cell"]["where"]["line"] == 2
    assert s.ns["record"] is None  # what ns.get gave before: the recorder is gone


# -- references, free functions and an assignment's kinds ---------------------------------------------

FUNCS = """
def train(model, xs, extra=None):
    for x in xs:
        model.forward(x)
    return [extra is None, len(xs)]
def nested(d):
    return [d["m"] is d["again"][0], type(d["m"]).__name__]
"""


def test_an_argument_ref_is_the_object_of_that_handle():
    s = Served({"f": FUNCS})
    exec(FUNCS, s.ns)
    assert s.reply({"op": "new", "cls": "Lin", "args": [2]}) == {"h": 0}
    assert s.reply({"op": "new", "cls": "Lin", "args": [3]}) == {"h": 1}
    r = s.reply({"op": "func", "name": "train", "args": [{"$ref": 0}, [np.ones((1, 2)), np.ones((1, 2))]]})
    assert r["result"][0] is True and r["result"][1].tolist() == 2
    assert r["forward_calls"] == 2 and r["args_changed"] == []
    r = s.reply({"op": "func", "name": "nested", "args": [{"m": {"$ref": 1}, "again": [{"$ref": 1}]}]})
    assert r["result"] == [True, "Lin"]
    r = s.reply({"op": "call", "h": 0, "method": "forward", "args": [np.ones((1, 2))]})
    assert r["result"].tolist() == [[2.0, 2.0]]


@pytest.mark.parametrize(
    ("req", "error"),
    [
        ({"op": "func", "name": "train", "args": [{"$ref": 5}, []]}, "no object 5"),
        ({"op": "func", "name": "train", "args": [{"$ref": "0"}, []]}, "no object 0"),
        ({"op": "func", "name": "train", "args": [{"$ref": True}, []]}, "no object True"),
    ],
)
def test_a_ref_to_no_object_is_the_judges_error(req, error):
    s = Served()
    exec(FUNCS, s.ns)
    s.reply({"op": "new", "cls": "Lin"})
    assert s.reply(req) == {"error": {"type": "ProtocolError", "message": error, "where": None}}


def test_func_finds_only_functions_and_reports_as_a_call():
    s = Served()
    exec("def boom(x):\n    raise ValueError(x)\nvalue = 3\n", s.ns)
    for name in ("Lin", "value", "nothing"):
        assert s.reply({"op": "func", "name": name}) == {"missing": True}
    assert s.reply({"op": "func", "name": "boom", "args": ["bad"]})["error"]["type"] == "ValueError"


def test_a_step_may_pass_the_object_an_earlier_step_made():
    s = Served()
    exec(FUNCS, s.ns)
    steps = [{"op": "new", "cls": "Lin"}, {"op": "func", "name": "train", "args": [{"$ref": {"$step": 0}}, []]}]
    s.dispatch({"op": "steps", "steps": steps})
    assert s.replies[0] == {"h": 0} and s.replies[1]["result"][1].tolist() == 0


def test_arguments_without_a_ref_are_passed_as_they_came():
    s = Served()
    args = [{"a": [1, 2]}, [np.ones(2)], 3]
    assert s.resolve(args) is args


def test_an_assignments_kinds_replace_and_add_to_the_engines():
    def new(server: PartServer, req: dict[str, Any]) -> dict[str, Any]:
        return server.keep(("made", *server.resolve(req["args"])))

    def peek(server: PartServer, req: dict[str, Any]) -> dict[str, Any]:
        return {"value": server.describe(server.resolve(req["args"])[0])}

    s = Served()
    s.handlers = {**PartServer.HANDLERS, "new": new, "peek": peek}  # as PartServer(..., handlers) merges them
    assert list(PartServer(None, {}, {}, handlers={"new": new, "peek": peek}).handlers) == [  # type: ignore[arg-type]
        *PartServer.HANDLERS,
        "peek",
    ]
    assert s.reply({"op": "new", "args": [1]}) == {"h": 0}
    assert s.reply({"op": "peek", "args": [{"$ref": 0}]})["value"][0] == "made"
    assert s.reply({"op": "var", "name": "Lin"})["value"] == {"$obj": "type"}
