"""The judge's requests: references to the student's objects as they cross ({"$ref": handle}), and
every other argument sent exactly as before."""

from __future__ import annotations

import numpy as np

from autograder.sandbox import requests
from autograder.sandbox.inside import protocol
from autograder.sandbox.requests import Ref


def _wire(req: dict) -> dict:
    return protocol.decode(protocol.encode(req)[4:])


def test_refs_cross_as_handles_anywhere_in_the_arguments():
    req, what = requests.func("train", Ref(3), {"opt": Ref(4), "k": (1, Ref({"$step": 0}))}, np.arange(3))
    sent = _wire(req)
    assert sent["op"] == "func" and sent["name"] == "train" and what == "関数 train"
    assert sent["args"][0] == {"$ref": 3}
    assert sent["args"][1] == {"opt": {"$ref": 4}, "k": [1, {"$ref": {"$step": 0}}]}
    assert sent["args"][2].dtype == np.int64
    req, what = requests.new("SGD", Ref(0), 0.1)
    assert _wire(req)["args"] == [{"$ref": 0}, 0.1] and what == "SGD(<object 0>, 0.1)"


def test_arguments_without_refs_are_sent_as_before():
    x = np.ones((2, 2), dtype=np.float32)
    req, _ = requests.call(0, "Linear", "forward", x, [np.ones(2, dtype=np.int32)])
    assert req["args"][0].dtype == np.float64 and req["args"][1][0].dtype == np.int32
    req, _ = requests.new("Linear", 3, (2, 1))
    assert req["args"] == [3, [2, 1]] and _wire(req)["args"] == [3, [2, 1]]
